// reduce-partials: the second pass of the multi-workgroup losses (mse-loss, kl-loss, dplr-loss), whose
// first pass leaves one partial sum per workgroup and lane, partials[l * count + w]. Writes
//   out[out_index + l] = (sum_w partials[l * count + w]) / div_l   for the lanes l < `lanes` (1 or 2),
// and leaves the rest of out as it is. Dispatch one workgroup: invocation k Kahan-sums partials
// k, k + WG, ... of both lanes, then a fixed-order tree adds the invocations' sums (reduction.wgsl).

struct Params { count: u32, lanes: u32, out_index: u32, div0: f32, div1: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var k = Kahan2(vec2<f32>(0.0), vec2<f32>(0.0));
  for (var w = lid; w < p.count; w += WG) {
    var v = vec2<f32>(partials[w], 0.0);
    if (p.lanes > 1u) {
      v.y = partials[p.count + w];
    }
    k = kahan_add2(k, v);
  }
  let total = workgroup_sum2(lid, k.sum);
  if (lid == 0u) {
    out[p.out_index] = total.x / p.div0;
    if (p.lanes > 1u) {
      out[p.out_index + 1u] = total.y / p.div1;
    }
  }
}
