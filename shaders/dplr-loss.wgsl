// dplr-loss, first pass: the two terms of the FIMA-Q reconstruction loss (../shared/docs/fimaq-method.md
// §6.2) for a minibatch of B rows of D outputs, with delta = |yhat - y|, A = delta.G^T and C = A.Binv
// (both [B, rank], from project-rows and matmul):
//   L_LR   = (1/B) sum_b sum_i A[b, i] C[b, i]          (low-rank term, A Binv A^T per row)
//   L_Diag = (1/(B D)) sum_b sum_d gbar[d] delta[b, d]^2  (diagonal term)
// as `parts` partial sums of each: invocation t Kahan-sums the elements t, t + parts, ... of both
// (reduction.wgsl) into partial[t] (low-rank) and partial[parts + t] (diagonal); reduce-partials adds
// them in a fixed order and scales them into out[0], out[1]. The host fixes `parts` from B * D alone,
// so the result repeats bit for bit on every device.

struct Params { rows: u32, cols: u32, rank: u32, parts: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> yhat: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> gbar: array<f32>;
@group(0) @binding(4) var<storage, read> a: array<f32>;
@group(0) @binding(5) var<storage, read> c: array<f32>;
@group(0) @binding(6) var<storage, read_write> partial: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.parts) {
    return;
  }
  var k = Kahan2(vec2<f32>(0.0), vec2<f32>(0.0));
  for (var i = t; i < p.rows * p.cols; i += p.parts) {
    let e = yhat[i] - y[i];
    k = kahan_add2(k, vec2<f32>(0.0, gbar[i % p.cols] * e * e));
  }
  for (var i = t; i < p.rows * p.rank; i += p.parts) {
    k = kahan_add2(k, vec2<f32>(a[i] * c[i], 0.0));
  }
  partial[t] = k.sum.x;
  partial[p.parts + t] = k.sum.y;
}
