// eig-fim-grad: the gradient of the eig-fim loss L = w (L_LR + L_Diag) / (norm[0] + norm[1]) with
// respect to yhat, where L_LR = (1/B) sum_b |(yhat_b - y_b).V^T|^2 (V = sqrt(lambda) U, the top
// eigenpairs of the empirical Fisher matrix) and L_Diag = (1/B) sum_b sum_d d[d] (yhat - y)[b, d]^2,
// given E = ((yhat - y).V^T).V [B, D] from project-rows and matmul:
//   dL/dyhat[b, d] = w / (norm[0] + norm[1]) * 2/B * (E[b, d] + d[d] (yhat - y)[b, d])
// norm holds the terms at the first step after the last refresh of U and d (self-normalisation
// without a readback). One invocation computes one element.

struct Params { rows: u32, cols: u32, weight: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> yhat: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> diag: array<f32>;
@group(0) @binding(4) var<storage, read> e: array<f32>;
@group(0) @binding(5) var<storage, read> norm: array<f32>;
@group(0) @binding(6) var<storage, read_write> grad: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.rows * p.cols) {
    return;
  }
  let scale = p.weight / (norm[0] + norm[1]) * 2.0 / f32(p.rows);
  grad[i] = scale * (e[i] + diag[i % p.cols] * (yhat[i] - y[i]));
}
