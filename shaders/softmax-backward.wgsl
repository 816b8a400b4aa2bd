// softmax-backward: the input gradient of a row softmax, from its output y:
//   dx[r, j] = y[r, j] * (dy[r, j] - sum_k dy[r, k] * y[r, k])  over rows of length `cols`.
// One invocation handles one row (rows are short in ViTs: the number of tokens).

struct Params { rows: u32, cols: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) {
    return;
  }
  let base = r * p.cols;
  var dot = 0.0;
  for (var j = 0u; j < p.cols; j++) {
    dot += dy[base + j] * y[base + j];
  }
  for (var j = 0u; j < p.cols; j++) {
    dx[base + j] = y[base + j] * (dy[base + j] - dot);
  }
}
