// packed-weight-linear: a linear layer with float inputs and bit-packed integer weights, for the
// patch embedding of the integer pipeline ([E5]; the image is not quantized, only the weights):
//   Y[m][n] = sw[n] * sum_k X[m][k] * (Wq[n][k] - zw[n]) (+ bias[n]).
// X is f32 [M, K] (rows K apart), Y f32 [M, N]. Wq holds the weight codes as the quantized-model
// file packs them (src/quant/pack.ts): each row a little-endian bitstream of BITS-bit codes, code
// k at bits [k*BITS, (k+1)*BITS) of the row, rows w_rs = ceil(K*BITS/32) words apart, plus one
// extra word after the last row so the two-word window read below never leaves the buffer. The
// codes are unpacked here, never stored as floats; sw f32 [N], zw i32 [N].
//
// One invocation computes a 4x4 tile: rows m0..m0+3, output channels n0..n0+3, so each unpacked
// group of 4 weights serves 4 rows. Per group k..k+3 it reads the <= 32-bit window of each
// channel's 4 codes (it may straddle two words), turns them into exact small floats code - zw and
// accumulates dot(x, w) in f32; lanes k >= K of the last group are zero.

struct Params {
  M: u32, N: u32, K: u32, tiles_m: u32, tiles_n: u32, w_rs: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> sw: array<f32>;
@group(0) @binding(4) var<storage, read> zw: array<i32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

override WG: u32 = 64u;
override BITS: u32 = 4u;
override HAS_BIAS: bool = false;

// The 4 codes k..k+3 of the weight row starting at word `row`, minus the zero point; `bit` = k * BITS.
fn weights(row: u32, bit: u32, zero: f32) -> vec4<f32> {
  let at = row + (bit >> 5u);
  let shift = bit & 31u;
  var v = w[at] >> shift;
  if (shift + 4u * BITS > 32u) {
    v |= w[at + 1u] << (32u - shift);
  }
  let mask = (1u << BITS) - 1u;
  let codes = (vec4<u32>(v) >> vec4<u32>(0u, BITS, 2u * BITS, 3u * BITS)) & vec4<u32>(mask);
  return vec4<f32>(codes) - zero;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.tiles_m * p.tiles_n) {
    return;
  }
  let n0 = (idx % p.tiles_n) * 4u;
  let m0 = (idx / p.tiles_n) * 4u;
  var xrow: array<u32, 4>;
  var wrow: array<u32, 4>;
  var zero: vec4<f32>;
  for (var i = 0u; i < 4u; i++) {
    xrow[i] = min(m0 + i, p.M - 1u) * p.K;
    let n = min(n0 + i, p.N - 1u);
    wrow[i] = n * p.w_rs;
    zero[i] = f32(zw[n]);
  }
  var acc: array<vec4<f32>, 4>;
  let full = p.K / 4u;
  for (var g = 0u; g < full; g++) {
    let k = g * 4u;
    let bit = k * BITS;
    let w0 = weights(wrow[0], bit, zero[0]);
    let w1 = weights(wrow[1], bit, zero[1]);
    let w2 = weights(wrow[2], bit, zero[2]);
    let w3 = weights(wrow[3], bit, zero[3]);
    for (var i = 0u; i < 4u; i++) {
      let r = xrow[i] + k;
      let a = vec4<f32>(x[r], x[r + 1u], x[r + 2u], x[r + 3u]);
      acc[i] += vec4<f32>(dot(a, w0), dot(a, w1), dot(a, w2), dot(a, w3));
    }
  }
  let rest = p.K - full * 4u;
  if (rest > 0u) {
    let k = full * 4u;
    let bit = k * BITS;
    let w0 = weights(wrow[0], bit, zero[0]);
    let w1 = weights(wrow[1], bit, zero[1]);
    let w2 = weights(wrow[2], bit, zero[2]);
    let w3 = weights(wrow[3], bit, zero[3]);
    for (var i = 0u; i < 4u; i++) {
      let r = xrow[i] + k;
      // Lanes past K stay zero, so the weight bits beyond the row end do not count.
      var a = vec4<f32>(0.0);
      for (var l = 0u; l < rest; l++) {
        a[l] = x[r + l];
      }
      acc[i] += vec4<f32>(dot(a, w0), dot(a, w1), dot(a, w2), dot(a, w3));
    }
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= p.M) {
      break;
    }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n >= p.N) {
        break;
      }
      var v = sw[n] * acc[i][j];
      if (HAS_BIAS) {
        v += bias[n];
      }
      y[m * p.N + n] = v;
    }
  }
}
