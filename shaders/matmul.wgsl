// matmul: C[z] = alpha * A[z] . B[z] (+ bias), with every operand addressed through strides, so one
// pipeline serves X.W^T, dY.W, dY^T.X and the per-head products of attention (read straight from
// the fused qkv tensor) without transposing anything in memory. The batch index z splits into an
// outer and an inner index, z = zo * inner + zi, each with its own stride per operand (attention:
// zo = image, zi = head). One invocation computes an 8x8 tile of C: rows m0..m0+7, columns
// n0..n0+7, so each loaded element feeds eight multiply-adds (twice the 4x4 tile's rate on
// SwiftShader, where loads cost far more than arithmetic). Everything is written out with constant
// indices: a dynamically indexed accumulator array would live in memory. Invocations are numbered
// flat over (z, tile row, tile column); out-of-range rows/columns are clamped on load and skipped
// on store. With ACCUMULATE the sums start from C's values instead of zero (alpha 1, no bias), so a
// product over K split into consecutive ranges, one dispatch each, adds up in the same order as one
// dispatch over all of K (the calibration's Gram matrices over chunks of rows). The last product of
// the batch runs over k_last <= K terms: a product split into K-slices (one batch entry each, summed
// afterwards by sum-slices) has a shorter last slice when the slices do not divide K.

struct Params {
  M: u32, N: u32, K: u32, k_last: u32, batch: u32, inner: u32, tiles_m: u32, tiles_n: u32,
  a_off: u32, a_rs: u32, a_cs: u32, a_bs: u32, a_is: u32,
  b_off: u32, b_rs: u32, b_cs: u32, b_bs: u32, b_is: u32,
  c_off: u32, c_rs: u32, c_bs: u32, c_is: u32, alpha: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

override WG: u32 = 64u;
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;

fn load4(base: u32, m: u32, n0: u32) -> vec4<f32> {
  var v = vec4<f32>();
  if (m < p.M) {
    for (var j = 0u; j < 4u; j++) {
      if (n0 + j < p.N) {
        v[j] = c[base + m * p.c_rs + n0 + j];
      }
    }
  }
  return v;
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
  var ra0 = a_base + min(m0 + 0u, p.M - 1u) * p.a_rs;
  var ra1 = a_base + min(m0 + 1u, p.M - 1u) * p.a_rs;
  var ra2 = a_base + min(m0 + 2u, p.M - 1u) * p.a_rs;
  var ra3 = a_base + min(m0 + 3u, p.M - 1u) * p.a_rs;
  var ra4 = a_base + min(m0 + 4u, p.M - 1u) * p.a_rs;
  var ra5 = a_base + min(m0 + 5u, p.M - 1u) * p.a_rs;
  var ra6 = a_base + min(m0 + 6u, p.M - 1u) * p.a_rs;
  var ra7 = a_base + min(m0 + 7u, p.M - 1u) * p.a_rs;
  var cb0 = b_base + min(n0 + 0u, p.N - 1u) * p.b_cs;
  var cb1 = b_base + min(n0 + 1u, p.N - 1u) * p.b_cs;
  var cb2 = b_base + min(n0 + 2u, p.N - 1u) * p.b_cs;
  var cb3 = b_base + min(n0 + 3u, p.N - 1u) * p.b_cs;
  var cb4 = b_base + min(n0 + 4u, p.N - 1u) * p.b_cs;
  var cb5 = b_base + min(n0 + 5u, p.N - 1u) * p.b_cs;
  var cb6 = b_base + min(n0 + 6u, p.N - 1u) * p.b_cs;
  var cb7 = b_base + min(n0 + 7u, p.N - 1u) * p.b_cs;
  let c_base = p.c_off + zo * p.c_bs + zi * p.c_is;
  var acc: array<vec4<f32>, 16>;  // row i: acc[2i] columns 0-3, acc[2i+1] columns 4-7
  if (ACCUMULATE) {
    acc[0] = load4(c_base, m0 + 0u, n0);
    acc[1] = load4(c_base, m0 + 0u, n0 + 4u);
    acc[2] = load4(c_base, m0 + 1u, n0);
    acc[3] = load4(c_base, m0 + 1u, n0 + 4u);
    acc[4] = load4(c_base, m0 + 2u, n0);
    acc[5] = load4(c_base, m0 + 2u, n0 + 4u);
    acc[6] = load4(c_base, m0 + 3u, n0);
    acc[7] = load4(c_base, m0 + 3u, n0 + 4u);
    acc[8] = load4(c_base, m0 + 4u, n0);
    acc[9] = load4(c_base, m0 + 4u, n0 + 4u);
    acc[10] = load4(c_base, m0 + 5u, n0);
    acc[11] = load4(c_base, m0 + 5u, n0 + 4u);
    acc[12] = load4(c_base, m0 + 6u, n0);
    acc[13] = load4(c_base, m0 + 6u, n0 + 4u);
    acc[14] = load4(c_base, m0 + 7u, n0);
    acc[15] = load4(c_base, m0 + 7u, n0 + 4u);
  }
  let k_count = select(p.K, p.k_last, z == p.batch - 1u);
  for (var k = 0u; k < k_count; k++) {
    let lo = vec4<f32>(b[cb0], b[cb1], b[cb2], b[cb3]);
    let hi = vec4<f32>(b[cb4], b[cb5], b[cb6], b[cb7]);
    let a0 = a[ra0];
    acc[0] += a0 * lo;
    acc[1] += a0 * hi;
    let a1 = a[ra1];
    acc[2] += a1 * lo;
    acc[3] += a1 * hi;
    let a2 = a[ra2];
    acc[4] += a2 * lo;
    acc[5] += a2 * hi;
    let a3 = a[ra3];
    acc[6] += a3 * lo;
    acc[7] += a3 * hi;
    let a4 = a[ra4];
    acc[8] += a4 * lo;
    acc[9] += a4 * hi;
    let a5 = a[ra5];
    acc[10] += a5 * lo;
    acc[11] += a5 * hi;
    let a6 = a[ra6];
    acc[12] += a6 * lo;
    acc[13] += a6 * hi;
    let a7 = a[ra7];
    acc[14] += a7 * lo;
    acc[15] += a7 * hi;
    ra0 += p.a_cs; ra1 += p.a_cs; ra2 += p.a_cs; ra3 += p.a_cs;
    ra4 += p.a_cs; ra5 += p.a_cs; ra6 += p.a_cs; ra7 += p.a_cs;
    cb0 += p.b_rs; cb1 += p.b_rs; cb2 += p.b_rs; cb3 += p.b_rs;
    cb4 += p.b_rs; cb5 += p.b_rs; cb6 += p.b_rs; cb7 += p.b_rs;
  }
  store4(c_base, m0 + 0u, n0, acc[0]);
  store4(c_base, m0 + 0u, n0 + 4u, acc[1]);
  store4(c_base, m0 + 1u, n0, acc[2]);
  store4(c_base, m0 + 1u, n0 + 4u, acc[3]);
  store4(c_base, m0 + 2u, n0, acc[4]);
  store4(c_base, m0 + 2u, n0 + 4u, acc[5]);
  store4(c_base, m0 + 3u, n0, acc[6]);
  store4(c_base, m0 + 3u, n0 + 4u, acc[7]);
  store4(c_base, m0 + 4u, n0, acc[8]);
  store4(c_base, m0 + 4u, n0 + 4u, acc[9]);
  store4(c_base, m0 + 5u, n0, acc[10]);
  store4(c_base, m0 + 5u, n0 + 4u, acc[11]);
  store4(c_base, m0 + 6u, n0, acc[12]);
  store4(c_base, m0 + 6u, n0 + 4u, acc[13]);
  store4(c_base, m0 + 7u, n0, acc[14]);
  store4(c_base, m0 + 7u, n0 + 4u, acc[15]);
}
