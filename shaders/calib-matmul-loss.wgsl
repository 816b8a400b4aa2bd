// calib-matmul-loss: the per-head squared error of a quantized matmul (q.k^T or attn.v) for every
// candidate quantizer of one operand: err = sum_d fq(a[i, d]; c) * b[d, j] - ref[i, j], where `a` is the
// operand under search (fake-quantized here with candidate c of its head) and `b` the other operand,
// already fake-quantized with its current quantizer. To search the right-hand operand the caller
// passes the transposed product (strides make that free). Operands and the reference are read
// through strides with an outer (image) and inner (head) index, so q, k and v come straight from
// the fused qkv tensor. One invocation computes a 4x8 tile of (i, j) for one head and candidate,
// summed over all images, and writes it to partial[(h * C + c) * tiles + tile]; invocations are
// numbered flat over (head, candidate, tile), so no invocation idles on narrow products. With
// `resume` the sum continues from partial's value: images that come in chunks (one dispatch per
// chunk, in order) add up exactly as in one dispatch over all of them.

struct Params {
  M: u32, N: u32, K: u32, images: u32, heads: u32, C: u32, tiles_m: u32, tiles_n: u32,
  a_off: u32, a_rs: u32, a_cs: u32, a_bs: u32, a_is: u32,
  b_off: u32, b_rs: u32, b_cs: u32, b_bs: u32, b_is: u32,
  r_rs: u32, r_cs: u32, r_bs: u32, r_is: u32,
  resume: u32, qmax: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> ref_product: array<f32>;
@group(0) @binding(4) var<storage, read> cand_scale: array<f32>;
@group(0) @binding(5) var<storage, read> cand_zero_point: array<f32>;
@group(0) @binding(6) var<storage, read_write> partial: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let tiles = p.tiles_m * p.tiles_n;
  if (idx >= p.heads * p.C * tiles) {
    return;
  }
  let hc = idx / tiles;
  let n0 = (idx % p.tiles_n) * 8u;
  let m0 = ((idx / p.tiles_n) % p.tiles_m) * 4u;
  let h = hc / p.C;
  let s = cand_scale[hc];
  let z = round(cand_zero_point[hc]);
  var sum = 0.0;
  if (p.resume != 0u) {
    sum = partial[idx];
  }
  for (var img = 0u; img < p.images; img++) {
    var rows: array<u32, 4>;
    var cols: array<u32, 8>;
    for (var i = 0u; i < 4u; i++) {
      rows[i] = p.a_off + img * p.a_bs + h * p.a_is + min(m0 + i, p.M - 1u) * p.a_rs;
    }
    for (var j = 0u; j < 8u; j++) {
      cols[j] = p.b_off + img * p.b_bs + h * p.b_is + min(n0 + j, p.N - 1u) * p.b_cs;
    }
    // Explicitly zeroed: a declaration without initializer inside the loop kept the previous
    // image's sums on SwiftShader.
    var acc = array<vec4<f32>, 8>();
    for (var k = 0u; k < p.K; k++) {
      let bk = k * p.b_rs;
      let lo = vec4<f32>(b[cols[0] + bk], b[cols[1] + bk], b[cols[2] + bk], b[cols[3] + bk]);
      let hi = vec4<f32>(b[cols[4] + bk], b[cols[5] + bk], b[cols[6] + bk], b[cols[7] + bk]);
      let ak = k * p.a_cs;
      for (var i = 0u; i < 4u; i++) {
        let q = (clamp(round(a[rows[i] + ak] / s) + z, 0.0, p.qmax) - z) * s;
        acc[2u * i] += q * lo;
        acc[2u * i + 1u] += q * hi;
      }
    }
    let base = img * p.r_bs + h * p.r_is;
    for (var i = 0u; i < 4u; i++) {
      let m = m0 + i;
      if (m >= p.M) {
        break;
      }
      for (var j = 0u; j < 8u; j++) {
        let n = n0 + j;
        if (n >= p.N) {
          break;
        }
        let e = acc[2u * i + j / 4u][j % 4u] - ref_product[base + m * p.r_rs + n * p.r_cs];
        sum += e * e;
      }
    }
  }
  partial[idx] = sum;
}
