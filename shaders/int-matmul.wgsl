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
// dot4U8Packed (Σa as the dot with 0x01010101) and K the true reduction length (padded lanes are 0
// and add nothing to any sum). Everything is u32 arithmetic, which wraps modulo 2^32, so the final
// bitcast to i32 is the exact accumulator whenever |acc| < 2^31. With codes and zero points in
// [0, qmax], |acc| <= K·qmax², so the accumulator is exact for K·qmax² < 2^31: K <= 33025 at 8 bits
// (K < 33000), K <= 9.5e6 at 4 bits. Its conversion to f32 is exact while |acc| < 2^24 (at 8 bits,
// always for K <= 258); beyond that it is rounded to an adjacent f32. The output is
// (alpha·sa·sb)·f32(acc): with all scales and alpha powers of two (e.g. 1) and no bias it is
// exactly the scaled accumulator, which is how the tests check the kernel.
//
// One invocation computes a 4x4 tile of C (rows m0..m0+3, columns n0..n0+3), numbered flat over
// (z, tile row, tile column) as in matmul; out-of-range rows/columns are clamped on load and skipped
// on store. shaders/int-matmul-portable.wgsl is the same kernel without the language feature.

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

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let tiles = p.tiles_m * p.tiles_n;
  if (idx >= p.batch * tiles) {
    return;
  }
  let z = idx / tiles;
  let n0 = (idx % p.tiles_n) * 4u;
  let m0 = ((idx / p.tiles_n) % p.tiles_m) * 4u;
  let zo = z / p.inner;
  let zi = z % p.inner;
  var rows: array<u32, 4>;
  var cols: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) {
    rows[i] = p.a_off + zo * p.a_bs + zi * p.a_is + min(m0 + i, p.M - 1u) * p.a_rs;
    cols[i] = p.b_off + zo * p.b_bs + zi * p.b_is + min(n0 + i, p.N - 1u) * p.b_rs;
  }
  var ab: array<vec4<u32>, 4>;
  var sum_a = vec4<u32>(0u);
  var sum_b = vec4<u32>(0u);
  for (var w = 0u; w < p.words; w++) {
    let bw = vec4<u32>(b[cols[0] + w], b[cols[1] + w], b[cols[2] + w], b[cols[3] + w]);
    sum_b += vec4<u32>(dot4U8Packed(bw.x, ONES), dot4U8Packed(bw.y, ONES), dot4U8Packed(bw.z, ONES), dot4U8Packed(bw.w, ONES));
    for (var i = 0u; i < 4u; i++) {
      let aw = a[rows[i] + w];
      sum_a[i] += dot4U8Packed(aw, ONES);
      ab[i] += vec4<u32>(dot4U8Packed(aw, bw.x), dot4U8Packed(aw, bw.y), dot4U8Packed(aw, bw.z), dot4U8Packed(aw, bw.w));
    }
  }
  let za = u32(round(zero_a[zo * p.za_bs + zi * p.za_is]));
  let zb = u32(round(zero_b[zo * p.zb_bs + zi * p.zb_is]));
  let kzz = p.K * za * zb;
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= p.M) {
      break;
    }
    let row_scale = p.alpha * scale_a[zo * p.sa_bs + zi * p.sa_is + m * p.sa_rs];
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n >= p.N) {
        break;
      }
      let acc = bitcast<i32>(ab[i][j] - zb * sum_a[i] - za * sum_b[j] + kzz);
      var v = (row_scale * scale_b[zo * p.sb_bs + zi * p.sb_is + n * p.sb_cs]) * f32(acc);
      if (HAS_BIAS) {
        v += bias[n];
      }
      c[p.c_off + zo * p.c_bs + zi * p.c_is + m * p.c_rs + n] = v;
    }
  }
}
