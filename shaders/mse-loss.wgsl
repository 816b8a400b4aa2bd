// mse-loss: out[out_index] = (1 / rows) * sum_i (yhat[i] - y[i])^2 over all `count` elements, the
// reconstruction loss of a minibatch. Dispatch one workgroup: invocation k sums elements k, k + WG, ...
// with Kahan compensation, then a tree reduction adds the partial sums. The order is fixed, so the
// result is deterministic, which atomics would not give. WG must be a power of two.
// With HAS_WEIGHT each squared error is weighted by weight[i]^2 (BRECQ's Fisher: the sample's own
// squared gradient).

struct Params { count: u32, rows: u32, out_index: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> yhat: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;
override HAS_WEIGHT: bool = false;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  var comp = 0.0;
  for (var i = lid; i < p.count; i += WG) {
    var e = yhat[i] - y[i];
    if (HAS_WEIGHT) {
      e *= weight[i];
    }
    let v = e * e - comp;
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
    out[p.out_index] = partial[0] / f32(p.rows);
  }
}
