// gather-rows: out[b * cols + d] = src[(indices[b] - first) * cols + d] for the sampled rows that
// lie in this source, rows first .. first + src_rows - 1 of a cache; rows of out whose index lies
// elsewhere are left as they are. A cache too large for one buffer is split into chunks, and one
// dispatch per chunk fills its part of the minibatch. One invocation copies one element.

struct Params { rows: u32, cols: u32, first: u32, src_rows: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> indices: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.rows * p.cols) {
    return;
  }
  let b = i / p.cols;
  let row = indices[b];
  // Unsigned wrap-around sends rows below `first` past src_rows as well.
  if (row - p.first >= p.src_rows) {
    return;
  }
  out[i] = src[(row - p.first) * p.cols + (i - b * p.cols)];
}
