// int-linear-portable: the twin of int-linear.wgsl for devices without the WGSL language feature
// packed_4x8_integer_dot_product. Same bindings, same tiles and the same integer sums; the codes
// are unpacked to vec4<u32> and multiplied with the core dot() instead of dot4U8Packed.
//
//   Y[m][n] = sx[m mod T] * sw[n] * acc[m][n] (+ bias[n]),
//   acc[m][n] = sum_k (X[m][k] - zx) * (Wq[n][k] - zw[n]).
// X: unsigned 8-bit activation codes, 4 to a u32 word (code i of a word in bits [8i, 8i+8)), rows
// of x_rs = ceil(K/4) words, padded lanes 0. Wq: the file's packed weight codes (src/quant/pack.ts),
// each row a little-endian bitstream of BITS-bit codes (code k at bits [k*BITS, (k+1)*BITS)), rows
// w_rs = ceil(K*BITS/32) words apart, plus one extra word after the last row so the two-word window
// never leaves the buffer. sx per token (row m uses m mod T), zx one f32 holding an integer, sw f32
// [N], zw i32 [N]. Y is written at y_off + m * y_rs + n.
//
// One invocation computes a 4x4 tile (rows m0..m0+3, channels n0..n0+3). With Sab = sum a*b,
// Sa = sum a, Sb = sum b over the true K inputs (lanes k >= K masked to 0),
//   acc = Sab - zw*Sa - zx*Sb + K*zx*zw.
// Overflow: Sab accumulates in u32 and the correction in i32, both wrapping modulo 2^32, so acc is
// exact whenever its true value fits in i32: guaranteed by K * 255 * (2^BITS - 1) < 2^31, i.e.
// K <= 33025 at 8-bit weights (checked by the host wrapper). acc is rounded once to f32.

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

const ONES = vec4<u32>(1u);

// The 4 codes k..k+3 of the weight row starting at word `row`; `bit` = k * BITS.
fn weight_codes(row: u32, bit: u32) -> vec4<u32> {
  let at = row + (bit >> 5u);
  let shift = bit & 31u;
  var v = w[at] >> shift;
  if (shift + 4u * BITS > 32u) {
    v |= w[at + 1u] << (32u - shift);
  }
  let mask = (1u << BITS) - 1u;
  return (vec4<u32>(v) >> vec4<u32>(0u, BITS, 2u * BITS, 3u * BITS)) & vec4<u32>(mask);
}

fn bytes(v: u32) -> vec4<u32> {
  return (vec4<u32>(v) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu);
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
  let rest = p.K - full * 4u;
  let groups = select(full, full + 1u, rest > 0u);
  for (var g = 0u; g < groups; g++) {
    // Lanes k >= K of the last, partial group are masked out of both operands.
    let lanes = select(vec4<u32>(1u), vec4<u32>(vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(rest)), g == full);
    let bit = g * 4u * BITS;
    let b0 = weight_codes(wrow[0], bit) * lanes;
    let b1 = weight_codes(wrow[1], bit) * lanes;
    let b2 = weight_codes(wrow[2], bit) * lanes;
    let b3 = weight_codes(wrow[3], bit) * lanes;
    sb += vec4<u32>(dot(b0, ONES), dot(b1, ONES), dot(b2, ONES), dot(b3, ONES));
    for (var i = 0u; i < 4u; i++) {
      let a = bytes(x[xrow[i] + g]) * lanes;
      sa[i] += dot(a, ONES);
      sab[i] += vec4<u32>(dot(a, b0), dot(a, b1), dot(a, b2), dot(a, b3));
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
