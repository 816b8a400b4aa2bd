// matmul-texture: C = alpha * A . B^T (+ bias) with both operands as rows of K values in rgba32float
// textures (GpuContext.rowTexture): A [M, K], B [N, K] (nn.Linear's X . W^T). The 'cpu' tuning's
// product: on SwiftShader a storage-buffer load is a gather of one value per invocation, a texel
// fetch brings four, which made this about twice as fast as `matmul` on the demo's linears. One
// invocation computes an 8x8 tile of C (rows m0..m0+7, columns n0..n0+7), each step over four
// values of K: eight texels of A and eight of B feed 64 four-term dot products. Everything is
// written out with constant indices (a dynamically indexed accumulator array would live in memory).
// Rows come in blocks of a_rpb / b_rpb rows side by side in the texture: texel (b * kw + j, i) holds
// values 4j..4j+3 of row b * rpb + i. Out-of-range rows are clamped on load and skipped on store.

struct Params {
  M: u32, N: u32, kw: u32, a_rpb: u32, b_rpb: u32, tiles_n: u32, c_off: u32, c_rs: u32, alpha: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var ta: texture_2d<f32>;
@group(0) @binding(4) var tb: texture_2d<f32>;

override WG: u32 = 64u;
override HAS_BIAS: bool = false;

// The texel column of a row's first four values, and the texel row.
fn texel_of(r: u32, rpb: u32) -> vec2<u32> {
  return vec2<u32>((r / rpb) * p.kw, r % rpb);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let tiles_m = (p.M + 7u) / 8u;
  if (idx >= tiles_m * p.tiles_n) {
    return;
  }
  let n0 = (idx % p.tiles_n) * 8u;
  let m0 = (idx / p.tiles_n) * 8u;
  let ta0 = texel_of(min(m0 + 0u, p.M - 1u), p.a_rpb);
  let ta1 = texel_of(min(m0 + 1u, p.M - 1u), p.a_rpb);
  let ta2 = texel_of(min(m0 + 2u, p.M - 1u), p.a_rpb);
  let ta3 = texel_of(min(m0 + 3u, p.M - 1u), p.a_rpb);
  let ta4 = texel_of(min(m0 + 4u, p.M - 1u), p.a_rpb);
  let ta5 = texel_of(min(m0 + 5u, p.M - 1u), p.a_rpb);
  let ta6 = texel_of(min(m0 + 6u, p.M - 1u), p.a_rpb);
  let ta7 = texel_of(min(m0 + 7u, p.M - 1u), p.a_rpb);
  let tb0 = texel_of(min(n0 + 0u, p.N - 1u), p.b_rpb);
  let tb1 = texel_of(min(n0 + 1u, p.N - 1u), p.b_rpb);
  let tb2 = texel_of(min(n0 + 2u, p.N - 1u), p.b_rpb);
  let tb3 = texel_of(min(n0 + 3u, p.N - 1u), p.b_rpb);
  let tb4 = texel_of(min(n0 + 4u, p.N - 1u), p.b_rpb);
  let tb5 = texel_of(min(n0 + 5u, p.N - 1u), p.b_rpb);
  let tb6 = texel_of(min(n0 + 6u, p.N - 1u), p.b_rpb);
  let tb7 = texel_of(min(n0 + 7u, p.N - 1u), p.b_rpb);
  var acc0a = vec4<f32>();  // row 0, columns 0-3
  var acc1a = vec4<f32>();  // row 1, columns 0-3
  var acc2a = vec4<f32>();  // row 2, columns 0-3
  var acc3a = vec4<f32>();  // row 3, columns 0-3
  var acc4a = vec4<f32>();  // row 4, columns 0-3
  var acc5a = vec4<f32>();  // row 5, columns 0-3
  var acc6a = vec4<f32>();  // row 6, columns 0-3
  var acc7a = vec4<f32>();  // row 7, columns 0-3
  var acc0b = vec4<f32>();  // row 0, columns 4-7
  var acc1b = vec4<f32>();  // row 1, columns 4-7
  var acc2b = vec4<f32>();  // row 2, columns 4-7
  var acc3b = vec4<f32>();  // row 3, columns 4-7
  var acc4b = vec4<f32>();  // row 4, columns 4-7
  var acc5b = vec4<f32>();  // row 5, columns 4-7
  var acc6b = vec4<f32>();  // row 6, columns 4-7
  var acc7b = vec4<f32>();  // row 7, columns 4-7
  for (var k = 0u; k < p.kw; k++) {
    let b0 = textureLoad(tb, vec2<u32>(tb0.x + k, tb0.y), 0);
    let b1 = textureLoad(tb, vec2<u32>(tb1.x + k, tb1.y), 0);
    let b2 = textureLoad(tb, vec2<u32>(tb2.x + k, tb2.y), 0);
    let b3 = textureLoad(tb, vec2<u32>(tb3.x + k, tb3.y), 0);
    let b4 = textureLoad(tb, vec2<u32>(tb4.x + k, tb4.y), 0);
    let b5 = textureLoad(tb, vec2<u32>(tb5.x + k, tb5.y), 0);
    let b6 = textureLoad(tb, vec2<u32>(tb6.x + k, tb6.y), 0);
    let b7 = textureLoad(tb, vec2<u32>(tb7.x + k, tb7.y), 0);
    let a0 = textureLoad(ta, vec2<u32>(ta0.x + k, ta0.y), 0);
    acc0a += vec4<f32>(dot(a0, b0), dot(a0, b1), dot(a0, b2), dot(a0, b3));
    acc0b += vec4<f32>(dot(a0, b4), dot(a0, b5), dot(a0, b6), dot(a0, b7));
    let a1 = textureLoad(ta, vec2<u32>(ta1.x + k, ta1.y), 0);
    acc1a += vec4<f32>(dot(a1, b0), dot(a1, b1), dot(a1, b2), dot(a1, b3));
    acc1b += vec4<f32>(dot(a1, b4), dot(a1, b5), dot(a1, b6), dot(a1, b7));
    let a2 = textureLoad(ta, vec2<u32>(ta2.x + k, ta2.y), 0);
    acc2a += vec4<f32>(dot(a2, b0), dot(a2, b1), dot(a2, b2), dot(a2, b3));
    acc2b += vec4<f32>(dot(a2, b4), dot(a2, b5), dot(a2, b6), dot(a2, b7));
    let a3 = textureLoad(ta, vec2<u32>(ta3.x + k, ta3.y), 0);
    acc3a += vec4<f32>(dot(a3, b0), dot(a3, b1), dot(a3, b2), dot(a3, b3));
    acc3b += vec4<f32>(dot(a3, b4), dot(a3, b5), dot(a3, b6), dot(a3, b7));
    let a4 = textureLoad(ta, vec2<u32>(ta4.x + k, ta4.y), 0);
    acc4a += vec4<f32>(dot(a4, b0), dot(a4, b1), dot(a4, b2), dot(a4, b3));
    acc4b += vec4<f32>(dot(a4, b4), dot(a4, b5), dot(a4, b6), dot(a4, b7));
    let a5 = textureLoad(ta, vec2<u32>(ta5.x + k, ta5.y), 0);
    acc5a += vec4<f32>(dot(a5, b0), dot(a5, b1), dot(a5, b2), dot(a5, b3));
    acc5b += vec4<f32>(dot(a5, b4), dot(a5, b5), dot(a5, b6), dot(a5, b7));
    let a6 = textureLoad(ta, vec2<u32>(ta6.x + k, ta6.y), 0);
    acc6a += vec4<f32>(dot(a6, b0), dot(a6, b1), dot(a6, b2), dot(a6, b3));
    acc6b += vec4<f32>(dot(a6, b4), dot(a6, b5), dot(a6, b6), dot(a6, b7));
    let a7 = textureLoad(ta, vec2<u32>(ta7.x + k, ta7.y), 0);
    acc7a += vec4<f32>(dot(a7, b0), dot(a7, b1), dot(a7, b2), dot(a7, b3));
    acc7b += vec4<f32>(dot(a7, b4), dot(a7, b5), dot(a7, b6), dot(a7, b7));
  }
  store4(p.c_off, m0 + 0u, n0, acc0a);
  store4(p.c_off, m0 + 0u, n0 + 4u, acc0b);
  store4(p.c_off, m0 + 1u, n0, acc1a);
  store4(p.c_off, m0 + 1u, n0 + 4u, acc1b);
  store4(p.c_off, m0 + 2u, n0, acc2a);
  store4(p.c_off, m0 + 2u, n0 + 4u, acc2b);
  store4(p.c_off, m0 + 3u, n0, acc3a);
  store4(p.c_off, m0 + 3u, n0 + 4u, acc3b);
  store4(p.c_off, m0 + 4u, n0, acc4a);
  store4(p.c_off, m0 + 4u, n0 + 4u, acc4b);
  store4(p.c_off, m0 + 5u, n0, acc5a);
  store4(p.c_off, m0 + 5u, n0 + 4u, acc5b);
  store4(p.c_off, m0 + 6u, n0, acc6a);
  store4(p.c_off, m0 + 6u, n0 + 4u, acc6b);
  store4(p.c_off, m0 + 7u, n0, acc7a);
  store4(p.c_off, m0 + 7u, n0 + 4u, acc7b);
}
