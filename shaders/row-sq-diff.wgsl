// row-sq-diff: out[r] = sum_j (a[r * cols + j] - b[(r % b_rows) * cols + j])^2, i.e. each row of a against
// a row of b that repeats every b_rows rows (the same target for every candidate's block of rows).
// One invocation computes one row.

struct Params { rows: u32, cols: u32, b_rows: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) {
    return;
  }
  let ai = r * p.cols;
  let bi = (r % p.b_rows) * p.cols;
  var s = 0.0;
  for (var j = 0u; j < p.cols; j++) {
    let d = a[ai + j] - b[bi + j];
    s += d * d;
  }
  out[r] = s;
}
