// calib-linear-input-loss: for each activation candidate c (scale s_c, zero-point z_c), the squared error
// of a linear layer whose input is fake-quantized with c: err(n, o) = sum_k fq(x[n, k]; c) * w[o, k] + bias[o] - y[n, o],
// where w is the (already quantized) weight and y the float layer output. One invocation computes a
// 4x4 tile of (n, o) for candidate c = gid.z, fake-quantizing each loaded x once for four outputs,
// and writes the tile's sum of err^2 to partial[c * tiles + tile]; reduce-sum adds the tiles up.

struct Params { N: u32, K: u32, O: u32, C: u32, tiles_o: u32, tiles: u32, qmax: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> y: array<f32>;
@group(0) @binding(5) var<storage, read> cand_scale: array<f32>;
@group(0) @binding(6) var<storage, read> cand_zero_point: array<f32>;
@group(0) @binding(7) var<storage, read_write> partial: array<f32>;

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let o0 = gid.x * 4u;
  let n0 = gid.y * 4u;
  let c = gid.z;
  if (o0 >= p.O || n0 >= p.N || c >= p.C) {
    return;
  }
  let s = cand_scale[c];
  let z = round(cand_zero_point[c]);
  var rows: array<u32, 4>;
  var cols: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) {
    rows[i] = min(n0 + i, p.N - 1u) * p.K;
    cols[i] = min(o0 + i, p.O - 1u) * p.K;
  }
  var acc: array<vec4<f32>, 4>;
  for (var k = 0u; k < p.K; k++) {
    let wv = vec4<f32>(w[cols[0] + k], w[cols[1] + k], w[cols[2] + k], w[cols[3] + k]);
    for (var i = 0u; i < 4u; i++) {
      let q = (clamp(round(x[rows[i] + k] / s) + z, 0.0, p.qmax) - z) * s;
      acc[i] += q * wv;
    }
  }
  var sum = 0.0;
  for (var i = 0u; i < 4u; i++) {
    let n = n0 + i;
    if (n >= p.N) {
      break;
    }
    for (var j = 0u; j < 4u; j++) {
      let o = o0 + j;
      if (o >= p.O) {
        break;
      }
      let e = acc[i][j] + bias[o] - y[n * p.O + o];
      sum += e * e;
    }
  }
  partial[c * p.tiles + gid.y * p.tiles_o + gid.x] = sum;
}
