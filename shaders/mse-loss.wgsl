// mse-loss, first pass: the reconstruction loss (1 / rows) * sum_i (yhat[i] - y[i])^2 of a minibatch
// over all `count` elements, as `parts` partial sums: invocation t Kahan-sums the elements
// t, t + parts, t + 2 * parts, ... (reduction.wgsl) into partial[t]; reduce-partials adds the partials
// in a fixed order and divides by rows. The host fixes `parts` from count alone, so the order, and the
// result, are the same on every device; atomics would not give that. No invocation waits for another
// (no barriers), which keeps the many workgroups cheap on CPU implementations too.
// With HAS_WEIGHT each squared error is weighted by weight[i]^2 (BRECQ's Fisher: the sample's own
// squared gradient).

struct Params { count: u32, parts: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> yhat: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;

override WG: u32 = 64u;
override HAS_WEIGHT: bool = false;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.parts) {
    return;
  }
  var k = Kahan(0.0, 0.0);
  for (var i = t; i < p.count; i += p.parts) {
    var e = yhat[i] - y[i];
    if (HAS_WEIGHT) {
      e *= weight[i];
    }
    k = kahan_add(k, e * e);
  }
  partial[t] = k.sum;
}
