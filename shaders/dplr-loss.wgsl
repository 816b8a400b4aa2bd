// dplr-loss: the two terms of the FIMA-Q reconstruction loss (../shared/docs/fimaq-method.md §6.2)
// for a minibatch of B rows of D outputs, with delta = |yhat - y|, A = delta.G^T and C = A.Binv
// (both [B, rank], computed by matmul):
//   out[0] = L_LR   = (1/B) sum_b sum_i A[b, i] C[b, i]          (low-rank term, A Binv A^T per row)
//   out[1] = L_Diag = (1/(B D)) sum_b sum_d gbar[d] delta[b, d]^2  (diagonal term)
// Dispatch one workgroup: invocations stride over the elements with Kahan sums, then a fixed-order
// tree reduction, so the result repeats bit for bit. WG must be a power of two.

struct Params { rows: u32, cols: u32, rank: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> yhat: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> gbar: array<f32>;
@group(0) @binding(4) var<storage, read> a: array<f32>;
@group(0) @binding(5) var<storage, read> c: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

var<workgroup> partial: array<vec2<f32>, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = vec2<f32>(0.0, 0.0);
  var comp = vec2<f32>(0.0, 0.0);
  for (var i = lid; i < p.rows * p.cols; i += WG) {
    let e = yhat[i] - y[i];
    let v = vec2<f32>(0.0, gbar[i % p.cols] * e * e) - comp;
    let t = s + v;
    comp = (t - s) - v;
    s = t;
  }
  for (var i = lid; i < p.rows * p.rank; i += WG) {
    let v = vec2<f32>(a[i] * c[i], 0.0) - comp;
    let t = s + v;
    comp = (t - s) - v;
    s = t;
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var width = WG / 2u; width > 0u; width /= 2u) {
    if (lid < width) {
      partial[lid] += partial[lid + width];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[0] = partial[0].x / f32(p.rows);
    out[1] = partial[0].y / (f32(p.rows) * f32(p.cols));
  }
}
