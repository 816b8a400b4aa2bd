requires packed_4x8_integer_dot_product;

// int-matmul: C[z][m][n] = alpha · sa · sb · Σ_k (A[z][m][k] − za)(B[z][n][k] − zb) (+ bias[n]) on
// byte codes packed four per u32 word along k (code k in byte k % 4 of word k / 4, as quantize-codes
// writes them). Both operands are row-major in words: A row m at a_off + zo·a_bs + zi·a_is + m·a_rs,
// B row n at b_off + zo·b_bs + zi·b_is + n·b_rs, each row `words` = ceil(K/4) words long, lanes past
// K holding 0. The batch index splits as z = zo·inner + zi (attention: zo = image, zi = head).
// sa = scale_a[zo·sa_bs + zi·sa_is + m·sa_rs], sb = scale_b[zo·sb_bs + zi·sb_is + n·sb_cs],
// za = round(zero_a[zo·za_bs + zi·za_is]), zb = round(zero_b[zo·zb_bs + zi·zb_is]) (f32 holding
// integers). C[z][m][n] is c[c_off + zo·c_bs + zi·c_is + m·c_rs + n].
//
// Integer accumulation: Σ(a − za)(b − zb) = Σab − zb·Σa − za·Σb + K·za·zb, with Σab, Σa, Σb from
// dot4 (Σa as the dot with 0x01010101) and K the true reduction length (padded lanes are 0
// and add nothing to any sum). Everything is u32 arithmetic, which wraps modulo 2^32, so the final
// bitcast to i32 is the exact accumulator whenever |acc| < 2^31, for any integer zero points
// (negative ones, or above qmax, which the method's activation quantizers may have, included).
// With codes and zero points in [0, qmax], |acc| <= K·qmax², so the accumulator is exact for
// K·qmax² < 2^31: K <= 33025 at 8 bits (K < 33000), K <= 9.5e6 at 4 bits. Its conversion to f32 is exact while |acc| < 2^24 (at 8 bits,
// always for K <= 258); beyond that it is rounded to an adjacent f32. The output is
// (alpha·sa·sb)·f32(acc): with all scales and alpha powers of two (e.g. 1) and no bias it is
// exactly the scaled accumulator, which is how the tests check the kernel.
//
// One invocation computes an 8x8 tile of C (rows m0..m0+7, columns n0..n0+7), numbered flat over
// (z, tile row, tile column) and written out with constant indices, as in matmul; out-of-range
// rows/columns are clamped on load and skipped on store. dot4 is the packed 4x8-bit dot product;
// where the device lacks the language feature, the runtime compiles this file with dot4 taken from
// shaders/dot4-portable.wgsl.

struct Params {
  M: u32, N: u32, K: u32, words: u32, batch: u32, inner: u32, tiles_m: u32, tiles_n: u32,
  a_off: u32, a_rs: u32, a_bs: u32, a_is: u32,
  b_off: u32, b_rs: u32, b_bs: u32, b_is: u32,
  c_off: u32, c_rs: u32, c_bs: u32, c_is: u32,
  sa_rs: u32, sa_bs: u32, sa_is: u32, sb_cs: u32, sb_bs: u32, sb_is: u32,
  za_bs: u32, za_is: u32, zb_bs: u32, zb_is: u32,
  alpha: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<u32>;
@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read> scale_a: array<f32>;
@group(0) @binding(4) var<storage, read> zero_a: array<f32>;
@group(0) @binding(5) var<storage, read> scale_b: array<f32>;
@group(0) @binding(6) var<storage, read> zero_b: array<f32>;
@group(0) @binding(7) var<storage, read> bias: array<f32>;
@group(0) @binding(8) var<storage, read_write> c: array<f32>;

override WG: u32 = 64u;
override HAS_BIAS: bool = false;

const ONES: u32 = 0x01010101u;

fn dot4(a: u32, b: u32) -> u32 {
  return dot4U8Packed(a, b);
}

// Row m of the tile: columns n0..n0+3 of Σab (ab), its Σa, the columns' Σb.
fn store4(z: vec2<u32>, m: u32, n0: u32, ab: vec4<u32>, sum_a: u32, sum_b: vec4<u32>, za: u32, zb: u32) {
  if (m >= p.M) {
    return;
  }
  let row_scale = p.alpha * scale_a[z.x * p.sa_bs + z.y * p.sa_is + m * p.sa_rs];
  for (var j = 0u; j < 4u; j++) {
    let n = n0 + j;
    if (n < p.N) {
      let acc = bitcast<i32>(ab[j] - zb * sum_a - za * sum_b[j] + p.K * za * zb);
      var v = (row_scale * scale_b[z.x * p.sb_bs + z.y * p.sb_is + n * p.sb_cs]) * f32(acc);
      if (HAS_BIAS) {
        v += bias[n];
      }
      c[p.c_off + z.x * p.c_bs + z.y * p.c_is + m * p.c_rs + n] = v;
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let tiles = p.tiles_m * p.tiles_n;
  if (idx >= p.batch * tiles) {
    return;
  }
  let z = idx / tiles;
  let n0 = (idx % p.tiles_n) * 8u;
  let m0 = ((idx / p.tiles_n) % p.tiles_m) * 8u;
  let zo = z / p.inner;
  let zi = z % p.inner;
  let a_base = p.a_off + zo * p.a_bs + zi * p.a_is;
  let b_base = p.b_off + zo * p.b_bs + zi * p.b_is;
  let ra0 = a_base + min(m0 + 0u, p.M - 1u) * p.a_rs;
  let ra1 = a_base + min(m0 + 1u, p.M - 1u) * p.a_rs;
  let ra2 = a_base + min(m0 + 2u, p.M - 1u) * p.a_rs;
  let ra3 = a_base + min(m0 + 3u, p.M - 1u) * p.a_rs;
  let ra4 = a_base + min(m0 + 4u, p.M - 1u) * p.a_rs;
  let ra5 = a_base + min(m0 + 5u, p.M - 1u) * p.a_rs;
  let ra6 = a_base + min(m0 + 6u, p.M - 1u) * p.a_rs;
  let ra7 = a_base + min(m0 + 7u, p.M - 1u) * p.a_rs;
  let rb0 = b_base + min(n0 + 0u, p.N - 1u) * p.b_rs;
  let rb1 = b_base + min(n0 + 1u, p.N - 1u) * p.b_rs;
  let rb2 = b_base + min(n0 + 2u, p.N - 1u) * p.b_rs;
  let rb3 = b_base + min(n0 + 3u, p.N - 1u) * p.b_rs;
  let rb4 = b_base + min(n0 + 4u, p.N - 1u) * p.b_rs;
  let rb5 = b_base + min(n0 + 5u, p.N - 1u) * p.b_rs;
  let rb6 = b_base + min(n0 + 6u, p.N - 1u) * p.b_rs;
  let rb7 = b_base + min(n0 + 7u, p.N - 1u) * p.b_rs;
  var ab: array<vec4<u32>, 16>;  // row i: ab[2i] columns 0-3, ab[2i+1] columns 4-7
  var sum_a: array<u32, 8>;
  var sum_lo = vec4<u32>(0u);
  var sum_hi = vec4<u32>(0u);
  for (var w = 0u; w < p.words; w++) {
    let lo = vec4<u32>(b[rb0 + w], b[rb1 + w], b[rb2 + w], b[rb3 + w]);
    let hi = vec4<u32>(b[rb4 + w], b[rb5 + w], b[rb6 + w], b[rb7 + w]);
    sum_lo += vec4<u32>(dot4(lo.x, ONES), dot4(lo.y, ONES), dot4(lo.z, ONES), dot4(lo.w, ONES));
    sum_hi += vec4<u32>(dot4(hi.x, ONES), dot4(hi.y, ONES), dot4(hi.z, ONES), dot4(hi.w, ONES));
    let a0 = a[ra0 + w];
    sum_a[0] += dot4(a0, ONES);
    ab[0] += vec4<u32>(dot4(a0, lo.x), dot4(a0, lo.y), dot4(a0, lo.z), dot4(a0, lo.w));
    ab[1] += vec4<u32>(dot4(a0, hi.x), dot4(a0, hi.y), dot4(a0, hi.z), dot4(a0, hi.w));
    let a1 = a[ra1 + w];
    sum_a[1] += dot4(a1, ONES);
    ab[2] += vec4<u32>(dot4(a1, lo.x), dot4(a1, lo.y), dot4(a1, lo.z), dot4(a1, lo.w));
    ab[3] += vec4<u32>(dot4(a1, hi.x), dot4(a1, hi.y), dot4(a1, hi.z), dot4(a1, hi.w));
    let a2 = a[ra2 + w];
    sum_a[2] += dot4(a2, ONES);
    ab[4] += vec4<u32>(dot4(a2, lo.x), dot4(a2, lo.y), dot4(a2, lo.z), dot4(a2, lo.w));
    ab[5] += vec4<u32>(dot4(a2, hi.x), dot4(a2, hi.y), dot4(a2, hi.z), dot4(a2, hi.w));
    let a3 = a[ra3 + w];
    sum_a[3] += dot4(a3, ONES);
    ab[6] += vec4<u32>(dot4(a3, lo.x), dot4(a3, lo.y), dot4(a3, lo.z), dot4(a3, lo.w));
    ab[7] += vec4<u32>(dot4(a3, hi.x), dot4(a3, hi.y), dot4(a3, hi.z), dot4(a3, hi.w));
    let a4 = a[ra4 + w];
    sum_a[4] += dot4(a4, ONES);
    ab[8] += vec4<u32>(dot4(a4, lo.x), dot4(a4, lo.y), dot4(a4, lo.z), dot4(a4, lo.w));
    ab[9] += vec4<u32>(dot4(a4, hi.x), dot4(a4, hi.y), dot4(a4, hi.z), dot4(a4, hi.w));
    let a5 = a[ra5 + w];
    sum_a[5] += dot4(a5, ONES);
    ab[10] += vec4<u32>(dot4(a5, lo.x), dot4(a5, lo.y), dot4(a5, lo.z), dot4(a5, lo.w));
    ab[11] += vec4<u32>(dot4(a5, hi.x), dot4(a5, hi.y), dot4(a5, hi.z), dot4(a5, hi.w));
    let a6 = a[ra6 + w];
    sum_a[6] += dot4(a6, ONES);
    ab[12] += vec4<u32>(dot4(a6, lo.x), dot4(a6, lo.y), dot4(a6, lo.z), dot4(a6, lo.w));
    ab[13] += vec4<u32>(dot4(a6, hi.x), dot4(a6, hi.y), dot4(a6, hi.z), dot4(a6, hi.w));
    let a7 = a[ra7 + w];
    sum_a[7] += dot4(a7, ONES);
    ab[14] += vec4<u32>(dot4(a7, lo.x), dot4(a7, lo.y), dot4(a7, lo.z), dot4(a7, lo.w));
    ab[15] += vec4<u32>(dot4(a7, hi.x), dot4(a7, hi.y), dot4(a7, hi.z), dot4(a7, hi.w));
  }
  // Through i32: an activation zero-point may be negative (the method does not clamp it), and
  // u32(negative f32) would clamp it to 0; the bit pattern of the i32 wraps like the sums do.
  let za = bitcast<u32>(i32(round(zero_a[zo * p.za_bs + zi * p.za_is])));
  let zb = bitcast<u32>(i32(round(zero_b[zo * p.zb_bs + zi * p.zb_is])));
  let zz = vec2<u32>(zo, zi);
  store4(zz, m0 + 0u, n0, ab[0], sum_a[0], sum_lo, za, zb);
  store4(zz, m0 + 0u, n0 + 4u, ab[1], sum_a[0], sum_hi, za, zb);
  store4(zz, m0 + 1u, n0, ab[2], sum_a[1], sum_lo, za, zb);
  store4(zz, m0 + 1u, n0 + 4u, ab[3], sum_a[1], sum_hi, za, zb);
  store4(zz, m0 + 2u, n0, ab[4], sum_a[2], sum_lo, za, zb);
  store4(zz, m0 + 2u, n0 + 4u, ab[5], sum_a[2], sum_hi, za, zb);
  store4(zz, m0 + 3u, n0, ab[6], sum_a[3], sum_lo, za, zb);
  store4(zz, m0 + 3u, n0 + 4u, ab[7], sum_a[3], sum_hi, za, zb);
  store4(zz, m0 + 4u, n0, ab[8], sum_a[4], sum_lo, za, zb);
  store4(zz, m0 + 4u, n0 + 4u, ab[9], sum_a[4], sum_hi, za, zb);
  store4(zz, m0 + 5u, n0, ab[10], sum_a[5], sum_lo, za, zb);
  store4(zz, m0 + 5u, n0 + 4u, ab[11], sum_a[5], sum_hi, za, zb);
  store4(zz, m0 + 6u, n0, ab[12], sum_a[6], sum_lo, za, zb);
  store4(zz, m0 + 6u, n0 + 4u, ab[13], sum_a[6], sum_hi, za, zb);
  store4(zz, m0 + 7u, n0, ab[14], sum_a[7], sum_lo, za, zb);
  store4(zz, m0 + 7u, n0 + 4u, ab[15], sum_a[7], sum_hi, za, zb);
}
