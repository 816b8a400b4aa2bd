// calib-matmul-loss: the per-head squared error of a quantized matmul (q.k^T or attn.v) for candidate
// quantizer pairs: err = sum_d fq(a[i, d]; ca) * fq(b[d, j]; cb) - ref[i, j], with per-head candidate
// tables for both operands (one operand usually has a single, fixed entry). Operands are read
// through strides as in matmul (outer index = image, inner = head), so q, k and v come straight from
// the fused qkv tensor. One invocation computes a 4x4 tile of (i, j) for one head and candidate pair,
// summed over all images, and writes it to partial[(h * C + c) * tiles + tile].

struct Params {
  M: u32, N: u32, K: u32, images: u32, heads: u32, CA: u32, CB: u32, tiles_n: u32, tiles: u32,
  a_off: u32, a_rs: u32, a_cs: u32, a_bs: u32, a_is: u32,
  b_off: u32, b_rs: u32, b_cs: u32, b_bs: u32, b_is: u32,
  qmax_a: f32, qmax_b: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> ref_product: array<f32>;
@group(0) @binding(4) var<storage, read> a_scale: array<f32>;
@group(0) @binding(5) var<storage, read> a_zero_point: array<f32>;
@group(0) @binding(6) var<storage, read> b_scale: array<f32>;
@group(0) @binding(7) var<storage, read> b_zero_point: array<f32>;
@group(0) @binding(8) var<storage, read_write> partial: array<f32>;

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

fn fq(v: f32, s: f32, z: f32, qmax: f32) -> f32 {
  return (clamp(round(v / s) + z, 0.0, qmax) - z) * s;
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  let C = p.CA * p.CB;
  let hc = gid.z;
  if (n0 >= p.N || m0 >= p.M || hc >= p.heads * C) {
    return;
  }
  let h = hc / C;
  let c = hc % C;
  let ia = h * p.CA + c / p.CB;
  let ib = h * p.CB + c % p.CB;
  let sa = a_scale[ia];
  let za = round(a_zero_point[ia]);
  let sb = b_scale[ib];
  let zb = round(b_zero_point[ib]);
  var sum = 0.0;
  for (var img = 0u; img < p.images; img++) {
    var rows: array<u32, 4>;
    var cols: array<u32, 4>;
    for (var i = 0u; i < 4u; i++) {
      rows[i] = p.a_off + img * p.a_bs + h * p.a_is + min(m0 + i, p.M - 1u) * p.a_rs;
      cols[i] = p.b_off + img * p.b_bs + h * p.b_is + min(n0 + i, p.N - 1u) * p.b_cs;
    }
    // Explicitly zeroed: a declaration without initializer inside the loop kept the previous
    // image's sums on SwiftShader.
    var acc = array<vec4<f32>, 4>();
    for (var k = 0u; k < p.K; k++) {
      let bk = k * p.b_rs;
      let bv = vec4<f32>(fq(b[cols[0] + bk], sb, zb, p.qmax_b), fq(b[cols[1] + bk], sb, zb, p.qmax_b),
                         fq(b[cols[2] + bk], sb, zb, p.qmax_b), fq(b[cols[3] + bk], sb, zb, p.qmax_b));
      let ak = k * p.a_cs;
      for (var i = 0u; i < 4u; i++) {
        acc[i] += fq(a[rows[i] + ak], sa, za, p.qmax_a) * bv;
      }
    }
    let base = (img * p.heads + h) * p.M * p.N;
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
        let e = acc[i][j] - ref_product[base + m * p.N + n];
        sum += e * e;
      }
    }
  }
  partial[hc * p.tiles + gid.y * p.tiles_n + gid.x] = sum;
}
