// token-gather: out[b, r, :] = src[b, row_map[r], :] for each image b, or zeros where row_map[r] is
// 0xffffffff. Swin's token moves are all such gathers: the cyclic shift with the window partition
// and its zero padding, the window merge with the crop and the shift back, and patch merging (rows
// of C gathered four at a time into rows of 4C). One invocation copies one element.

struct Params { batch: u32, out_rows: u32, src_rows: u32, cols: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> row_map: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.batch * p.out_rows * p.cols) {
    return;
  }
  let row = i / p.cols;
  let b = row / p.out_rows;
  let source = row_map[row - b * p.out_rows];
  var v = 0.0;
  if (source < p.src_rows) {
    v = src[(b * p.src_rows + source) * p.cols + (i - row * p.cols)];
  }
  out[i] = v;
}
