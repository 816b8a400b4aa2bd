// int-linear: the linear layer of the integer pipeline ([E5]) with integer accumulation,
//   Y[m][n] = sx[m mod T] * sw[n] * acc[m][n] (+ bias[n]),
//   acc[m][n] = sum_k (X[m][k] - zx) * (Wq[n][k] - zw[n]).
// X holds unsigned 8-bit activation codes, 4 to a u32 word (code i of a word in bits [8i, 8i+8)),
// rows of x_rs = ceil(K/4) words, padded lanes 0. Wq holds the weight codes as the quantized-model
// file packs them (src/quant/pack.ts): each row a little-endian bitstream of BITS-bit codes, code
// k at bits [k*BITS, (k+1)*BITS) of the row, rows w_rs = ceil(K*BITS/32) words apart. The buffer
// carries one extra word after the last row, so the two-word window read below never leaves it.
// sx is per token (row m uses token m mod T; T = 1 is per tensor), zx one f32 holding an integer,
// sw f32 [N], zw i32 [N]. Y is written at y_off + m * y_rs + n.
//
// One invocation computes a 4x4 tile: rows m0..m0+3 and output channels n0..n0+3, so each unpacked
// weight word serves 4 rows. Per group of 4 inputs k..k+3 it reads one activation word per row and,
// per channel, the <= 32-bit window holding the 4 weight codes (it may straddle two words; the
// in-row bit offset k*BITS is the same for every channel), spreads the codes into one byte each
// and takes dot4U8Packed with the activation word. With Sab = sum a*b, Sa = sum a, Sb = sum b over
// the true K inputs (lanes k >= K are masked to 0 in both operands),
//   acc = Sab - zw*Sa - zx*Sb + K*zx*zw.
//
// Overflow: Sab is accumulated in u32 and the correction in i32; both wrap modulo 2^32 (WGSL
// integer arithmetic wraps), so acc comes out exact whenever its true value fits in i32, which
// |acc| <= K * (2^abits - 1) * (2^BITS - 1) guarantees for K * 255 * (2^BITS - 1) < 2^31, i.e.
// K <= 33025 at 8-bit weights (the host wrapper checks this bound). acc is then rounded once to
// f32 (exact while |acc| < 2^24).
//
// This file needs the WGSL language feature packed_4x8_integer_dot_product; int-linear-portable.wgsl
// is the same kernel without it (identical bindings), compiled where the device lacks it.

requires packed_4x8_integer_dot_product;

struct Params {
  M: u32, N: u32, K: u32, T: u32, tiles_m: u32, tiles_n: u32,
  x_rs: u32, w_rs: u32, y_off: u32, y_rs: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> sx: array<f32>;
@group(0) @binding(3) var<storage, read> zx: array<f32>;
@group(0) @binding(4) var<storage, read> w: array<u32>;
@group(0) @binding(5) var<storage, read> sw: array<f32>;
@group(0) @binding(6) var<storage, read> zw: array<i32>;
@group(0) @binding(7) var<storage, read> bias: array<f32>;
@group(0) @binding(8) var<storage, read_write> y: array<f32>;

override WG: u32 = 64u;
override BITS: u32 = 4u;
override HAS_BIAS: bool = false;

const ONES: u32 = 0x01010101u;

// The 4 codes k..k+3 of the weight row starting at word `row`, one per byte; `bit` = k * BITS.
fn weight_bytes(row: u32, bit: u32) -> u32 {
  let at = row + (bit >> 5u);
  let shift = bit & 31u;
  var v = w[at] >> shift;
  if (shift + 4u * BITS > 32u) {
    v |= w[at + 1u] << (32u - shift);
  }
  if (BITS == 8u) {
    return v;
  }
  let mask = (1u << BITS) - 1u;
  return (v & mask) | (((v >> BITS) & mask) << 8u) | (((v >> (2u * BITS)) & mask) << 16u) |
    (((v >> (3u * BITS)) & mask) << 24u);
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
  for (var i = 0u; i < 4u; i++) {
    xrow[i] = min(m0 + i, p.M - 1u) * p.x_rs;
    wrow[i] = min(n0 + i, p.N - 1u) * p.w_rs;
  }
  var sab: array<vec4<u32>, 4>;
  var sa = vec4<u32>(0u);
  var sb = vec4<u32>(0u);
  let full = p.K / 4u;
  for (var g = 0u; g < full; g++) {
    let bit = g * 4u * BITS;
    let b = vec4<u32>(weight_bytes(wrow[0], bit), weight_bytes(wrow[1], bit), weight_bytes(wrow[2], bit),
      weight_bytes(wrow[3], bit));
    sb += vec4<u32>(dot4U8Packed(b[0], ONES), dot4U8Packed(b[1], ONES), dot4U8Packed(b[2], ONES), dot4U8Packed(b[3], ONES));
    for (var i = 0u; i < 4u; i++) {
      let a = x[xrow[i] + g];
      sa[i] += dot4U8Packed(a, ONES);
      sab[i] += vec4<u32>(dot4U8Packed(a, b[0]), dot4U8Packed(a, b[1]), dot4U8Packed(a, b[2]), dot4U8Packed(a, b[3]));
    }
  }
  let rest = p.K - full * 4u;
  if (rest > 0u) {
    // Last, partial group: only lanes < rest are inputs.
    let lanes = (1u << (8u * rest)) - 1u;
    let bit = full * 4u * BITS;
    let b = vec4<u32>(weight_bytes(wrow[0], bit), weight_bytes(wrow[1], bit), weight_bytes(wrow[2], bit),
      weight_bytes(wrow[3], bit)) & vec4<u32>(lanes);
    sb += vec4<u32>(dot4U8Packed(b[0], ONES), dot4U8Packed(b[1], ONES), dot4U8Packed(b[2], ONES), dot4U8Packed(b[3], ONES));
    for (var i = 0u; i < 4u; i++) {
      let a = x[xrow[i] + full] & lanes;
      sa[i] += dot4U8Packed(a, ONES);
      sab[i] += vec4<u32>(dot4U8Packed(a, b[0]), dot4U8Packed(a, b[1]), dot4U8Packed(a, b[2]), dot4U8Packed(a, b[3]));
    }
  }
  let z = i32(round(zx[0]));
  let kz = i32(p.K) * z;
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= p.M) {
      break;
    }
    let s = sx[m % p.T];
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n >= p.N) {
        break;
      }
      let zn = zw[n];
      let acc = bitcast<i32>(sab[i][j]) - zn * i32(sa[i]) - z * i32(sb[j]) + kz * zn;
      var v = s * sw[n] * f32(acc);
      if (HAS_BIAS) {
        v += bias[n];
      }
      y[p.y_off + m * p.y_rs + n] = v;
    }
  }
}
