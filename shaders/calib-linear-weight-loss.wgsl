// calib-linear-weight-loss: for output channel o and weight candidate c, the layer-output squared error up
// to a per-channel constant, through the Gram form
//   sum_n (xq[n] . (wq - w[o]) - r[n, o])^2 = d' G d - 2 d' g[:, o] + const,
// with d = fq(w[o]; c) - w[o] (row (o, c) of `deltas`, from calib-candidate-errors), dg = d' G
// (a matmul), G = xq' xq and g = xq' r (K x O), r = y - bias - xq . w'. A dispatch covers the
// output channels [first, first + channels) (deltas and dg hold their rows only, so large layers
// go in blocks); one invocation computes one (o, c): sum_k d[k] * (dg[k] - 2 g[k, o]), written to
// loss[o * C + c].

struct Params { K: u32, O: u32, C: u32, first: u32, channels: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> deltas: array<f32>;
@group(0) @binding(2) var<storage, read> dg: array<f32>;
@group(0) @binding(3) var<storage, read> cross: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.channels * p.C) {
    return;
  }
  let o = p.first + idx / p.C;
  let row = idx * p.K;
  var total = 0.0;
  for (var k = 0u; k < p.K; k++) {
    total += deltas[row + k] * (dg[row + k] - 2.0 * cross[k * p.O + o]);
  }
  loss[p.first * p.C + idx] = total;
}
