// dplr-grad: the gradient of L = p1 L_LR / norm[0] + p2 L_Diag / norm[1] (see dplr-loss) with respect to
// yhat, with E = C.G = A.Binv.G [B, D] from matmul (Binv is symmetric):
//   dL/dyhat[b, d] = sign(yhat - y) * (p1 / norm[0] * 2/B * E[b, d] + p2 / norm[1] * 2/(B D) * gbar[d] |yhat - y|)
// norm holds the terms' values at the first step after the last Fisher snapshot, so each term is
// self-normalised without a readback. A term whose weight is 0 is skipped (its norm may be 0).
// sign(0) = 0, as torch.abs' gradient. One invocation computes one element.

struct Params { rows: u32, cols: u32, p1: f32, p2: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> yhat: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> gbar: array<f32>;
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
  let diff = yhat[i] - y[i];
  let b = f32(p.rows);
  var g = 0.0;
  if (p.p1 != 0.0) {
    g += p.p1 / norm[0] * 2.0 / b * e[i];
  }
  if (p.p2 != 0.0) {
    g += p.p2 / norm[1] * 2.0 / (b * f32(p.cols)) * gbar[i % p.cols] * abs(diff);
  }
  grad[i] = sign(diff) * g;
}
