// matmul: C[z] = alpha * A[z] . B[z] (+ bias), with every operand addressed through strides, so one
// pipeline serves X.W^T, dY.W, dY^T.X and the per-head products of attention (read straight from
// the fused qkv tensor) without transposing anything in memory. The batch index z splits into an
// outer and an inner index, z = zo * inner + zi, each with its own stride per operand (attention:
// zo = image, zi = head). One invocation computes a 4x4 tile of C: rows m0..m0+3, columns
// n0..n0+3. Invocations are numbered flat over (z, tile row, tile column), so narrow products
// (a head's 16 columns) leave no idle invocations; out-of-range rows/columns are clamped on load
// and skipped on store.

struct Params {
  M: u32, N: u32, K: u32, batch: u32, inner: u32, tiles_m: u32, tiles_n: u32,
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
    cols[i] = p.b_off + zo * p.b_bs + zi * p.b_is + min(n0 + i, p.N - 1u) * p.b_cs;
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
      c[p.c_off + zo * p.c_bs + zi * p.c_is + m * p.c_rs + n] = v;
    }
  }
}
