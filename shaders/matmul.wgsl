// matmul: C[b] = alpha * A[b] . B[b] (+ bias), with every operand addressed through strides, so one
// pipeline serves X.W^T, dY.W, dY^T.X and batched products without transposing anything in memory.
// One invocation computes a 4x4 tile of C: rows m0..m0+3, columns n0..n0+3 of batch gid.z.
// Out-of-range rows/columns are clamped on load and skipped on store.

struct Params {
  M: u32, N: u32, K: u32, batch: u32,
  a_off: u32, a_rs: u32, a_cs: u32, a_bs: u32,
  b_off: u32, b_rs: u32, b_cs: u32, b_bs: u32,
  c_off: u32, c_rs: u32, c_bs: u32, alpha: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
override HAS_BIAS: bool = false;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  let bi = gid.z;
  if (m0 >= p.M || n0 >= p.N || bi >= p.batch) {
    return;
  }
  var rows: array<u32, 4>;
  var cols: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) {
    rows[i] = p.a_off + bi * p.a_bs + min(m0 + i, p.M - 1u) * p.a_rs;
    cols[i] = p.b_off + bi * p.b_bs + min(n0 + i, p.N - 1u) * p.b_cs;
  }
  var acc: array<vec4<f32>, 4>;
  for (var k = 0u; k < p.K; k++) {
    let ak = k * p.a_cs;
    let bk = k * p.b_rs;
    let bv = vec4<f32>(b[cols[0] + bk], b[cols[1] + bk], b[cols[2] + bk], b[cols[3] + bk]);
    acc[0] += a[rows[0] + ak] * bv;
    acc[1] += a[rows[1] + ak] * bv;
    acc[2] += a[rows[2] + ak] * bv;
    acc[3] += a[rows[3] + ak] * bv;
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
      var v = p.alpha * acc[i][j];
      if (HAS_BIAS) {
        v += bias[n];
      }
      c[p.c_off + bi * p.c_bs + m * p.c_rs + n] = v;
    }
  }
}
