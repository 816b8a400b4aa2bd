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
// One invocation computes an 8x4 tile: rows m0..m0+7 and output channels n0..n0+3, so each unpacked
// weight word serves 8 rows; the rows are written out with constant indices (a dynamically indexed
// array would live in memory, which costs SwiftShader twice the time). Per group of 4 inputs
// k..k+3 it reads one activation word per row and, per channel, the <= 32-bit window holding the 4
// weight codes (it may straddle two words; the in-row bit offset k*BITS is the same for every
// channel), spreads the codes into one byte each and takes dot4, the packed 4x8-bit dot product,
// with the activation word. With Sab = sum a*b, Sa = sum a, Sb = sum b over
// the true K inputs (lanes k >= K are masked to 0 in both operands),
//   acc = Sab - zw*Sa - zx*Sb + K*zx*zw.
//
// Overflow: Sab is accumulated in u32 and the correction in i32; both wrap modulo 2^32 (WGSL
// integer arithmetic wraps), so acc comes out exact whenever its true value fits in i32, which
// |acc| <= K * (2^abits - 1) * (2^BITS - 1) guarantees for K * 255 * (2^BITS - 1) < 2^31, i.e.
// K <= 33025 at 8-bit weights (the host wrapper checks this bound). acc is then rounded once to
// f32 (exact while |acc| < 2^24).
//
// This file needs the WGSL language feature packed_4x8_integer_dot_product; where the device lacks
// it, the runtime compiles it with dot4 taken from shaders/dot4-portable.wgsl.

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

fn dot4(a: u32, b: u32) -> u32 {
  return dot4U8Packed(a, b);
}

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

// Row i's results: dot products with channels n0..n0+3 (sab), its code sum (in sa's lane i).
fn store_row(m: u32, n0: u32, sab: vec4<u32>, sa: u32, sb: vec4<u32>, z: i32, kz: i32) {
  if (m >= p.M) {
    return;
  }
  let s = sx[m % p.T];
  for (var j = 0u; j < 4u; j++) {
    let n = n0 + j;
    if (n < p.N) {
      let zn = zw[n];
      let acc = bitcast<i32>(sab[j]) - zn * i32(sa) - z * i32(sb[j]) + kz * zn;
      var v = s * sw[n] * f32(acc);
      if (HAS_BIAS) {
        v += bias[n];
      }
      y[p.y_off + m * p.y_rs + n] = v;
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.tiles_m * p.tiles_n) {
    return;
  }
  let n0 = (idx % p.tiles_n) * 4u;
  let m0 = (idx / p.tiles_n) * 8u;
  let xr0 = min(m0 + 0u, p.M - 1u) * p.x_rs;
  let xr1 = min(m0 + 1u, p.M - 1u) * p.x_rs;
  let xr2 = min(m0 + 2u, p.M - 1u) * p.x_rs;
  let xr3 = min(m0 + 3u, p.M - 1u) * p.x_rs;
  let xr4 = min(m0 + 4u, p.M - 1u) * p.x_rs;
  let xr5 = min(m0 + 5u, p.M - 1u) * p.x_rs;
  let xr6 = min(m0 + 6u, p.M - 1u) * p.x_rs;
  let xr7 = min(m0 + 7u, p.M - 1u) * p.x_rs;
  let wr0 = min(n0 + 0u, p.N - 1u) * p.w_rs;
  let wr1 = min(n0 + 1u, p.N - 1u) * p.w_rs;
  let wr2 = min(n0 + 2u, p.N - 1u) * p.w_rs;
  let wr3 = min(n0 + 3u, p.N - 1u) * p.w_rs;
  var sab0 = vec4<u32>(0u);
  var sab1 = vec4<u32>(0u);
  var sab2 = vec4<u32>(0u);
  var sab3 = vec4<u32>(0u);
  var sab4 = vec4<u32>(0u);
  var sab5 = vec4<u32>(0u);
  var sab6 = vec4<u32>(0u);
  var sab7 = vec4<u32>(0u);
  var sa0 = 0u;
  var sa1 = 0u;
  var sa2 = 0u;
  var sa3 = 0u;
  var sa4 = 0u;
  var sa5 = 0u;
  var sa6 = 0u;
  var sa7 = 0u;
  var sb = vec4<u32>(0u);
  let groups = (p.K + 3u) / 4u;
  for (var g = 0u; g < groups; g++) {
    // Lanes k >= K of the last, partial group are masked out of both operands.
    let lanes = select(0xffffffffu, (1u << (8u * (p.K - 4u * g))) - 1u, p.K - 4u * g < 4u);
    let bit = g * 4u * BITS;
    let b = vec4<u32>(weight_bytes(wr0, bit), weight_bytes(wr1, bit), weight_bytes(wr2, bit), weight_bytes(wr3, bit)) & vec4<u32>(lanes);
    sb += vec4<u32>(dot4(b.x, ONES), dot4(b.y, ONES), dot4(b.z, ONES), dot4(b.w, ONES));
    let a0 = x[xr0 + g] & lanes;
    sa0 += dot4(a0, ONES);
    sab0 += vec4<u32>(dot4(a0, b.x), dot4(a0, b.y), dot4(a0, b.z), dot4(a0, b.w));
    let a1 = x[xr1 + g] & lanes;
    sa1 += dot4(a1, ONES);
    sab1 += vec4<u32>(dot4(a1, b.x), dot4(a1, b.y), dot4(a1, b.z), dot4(a1, b.w));
    let a2 = x[xr2 + g] & lanes;
    sa2 += dot4(a2, ONES);
    sab2 += vec4<u32>(dot4(a2, b.x), dot4(a2, b.y), dot4(a2, b.z), dot4(a2, b.w));
    let a3 = x[xr3 + g] & lanes;
    sa3 += dot4(a3, ONES);
    sab3 += vec4<u32>(dot4(a3, b.x), dot4(a3, b.y), dot4(a3, b.z), dot4(a3, b.w));
    let a4 = x[xr4 + g] & lanes;
    sa4 += dot4(a4, ONES);
    sab4 += vec4<u32>(dot4(a4, b.x), dot4(a4, b.y), dot4(a4, b.z), dot4(a4, b.w));
    let a5 = x[xr5 + g] & lanes;
    sa5 += dot4(a5, ONES);
    sab5 += vec4<u32>(dot4(a5, b.x), dot4(a5, b.y), dot4(a5, b.z), dot4(a5, b.w));
    let a6 = x[xr6 + g] & lanes;
    sa6 += dot4(a6, ONES);
    sab6 += vec4<u32>(dot4(a6, b.x), dot4(a6, b.y), dot4(a6, b.z), dot4(a6, b.w));
    let a7 = x[xr7 + g] & lanes;
    sa7 += dot4(a7, ONES);
    sab7 += vec4<u32>(dot4(a7, b.x), dot4(a7, b.y), dot4(a7, b.z), dot4(a7, b.w));
  }
  let z = i32(round(zx[0]));
  let kz = i32(p.K) * z;
  store_row(m0 + 0u, n0, sab0, sa0, sb, z, kz);
  store_row(m0 + 1u, n0, sab1, sa1, sb, z, kz);
  store_row(m0 + 2u, n0, sab2, sa2, sb, z, kz);
  store_row(m0 + 3u, n0, sab3, sa3, sb, z, kz);
  store_row(m0 + 4u, n0, sab4, sa4, sb, z, kz);
  store_row(m0 + 5u, n0, sab5, sa5, sb, z, kz);
  store_row(m0 + 6u, n0, sab6, sa6, sb, z, kz);
  store_row(m0 + 7u, n0, sab7, sa7, sb, z, kz);
}
