// softmax: y[r, :] = exp(x[r, :] - max) / sum(exp(x[r, :] - max)) over rows of length `cols`.
// One invocation handles one row (rows are short in ViTs: the number of tokens).

struct Params { rows: u32, cols: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) {
    return;
  }
  let base = r * p.cols;
  var m = x[base];
  for (var j = 1u; j < p.cols; j++) {
    m = max(m, x[base + j]);
  }
  var s = 0.0;
  for (var j = 0u; j < p.cols; j++) {
    let e = exp(x[base + j] - m);
    y[base + j] = e;
    s += e;
  }
  let inv = 1.0 / s;
  for (var j = 0u; j < p.cols; j++) {
    y[base + j] = y[base + j] * inv;
  }
}
