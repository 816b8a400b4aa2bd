// calib-linear-weight-loss: for output channel o and weight candidate c (per-row scale and zero-point),
// the layer-output squared error up to a per-row constant, through the Gram form
//   sum_n (xq[n] . (wq - w[o]) - r[n, o])^2 = d' G d - 2 d' g[:, o] + const,
// with d = fq(w[o]; c) - w[o], G = xq' xq (K x K) and g = xq' r (K x O), r = y - bias - xq . w'.
// This costs K^2 per (o, c) instead of N * K. One invocation computes one (o, c); d is recomputed
// on the fly rather than stored, so any K works.

struct Params { K: u32, O: u32, C: u32, qmax: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> gram: array<f32>;
@group(0) @binding(3) var<storage, read> cross: array<f32>;
@group(0) @binding(4) var<storage, read> cand_scale: array<f32>;
@group(0) @binding(5) var<storage, read> cand_zero_point: array<f32>;
@group(0) @binding(6) var<storage, read_write> loss: array<f32>;

override WG: u32 = 64u;

fn delta(row: u32, k: u32, s: f32, z: f32) -> f32 {
  let v = w[row + k];
  return (clamp(round(v / s) + z, 0.0, p.qmax) - z) * s - v;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.O * p.C) {
    return;
  }
  let o = idx / p.C;
  let s = cand_scale[idx];
  let z = round(cand_zero_point[idx]);
  let row = o * p.K;
  var total = 0.0;
  for (var k = 0u; k < p.K; k++) {
    let dk = delta(row, k, s, z);
    if (dk == 0.0) {
      continue;
    }
    var gd = 0.0;
    for (var l = 0u; l < p.K; l++) {
      gd += gram[k * p.K + l] * delta(row, l, s, z);
    }
    total += dk * (gd - 2.0 * cross[k * p.O + o]);
  }
  loss[idx] = total;
}
