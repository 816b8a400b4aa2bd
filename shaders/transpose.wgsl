// transpose: out[c * out_rs + r] = src[off + r * rs + c] for r < rows, c < cols: a strided [rows, cols]
// matrix written as [cols, rows] with a row stride of out_rs (>= rows; the padding is left as it is).
// The 'cpu' tuning gives matmul-texture a weight that dY.W reads along its columns this way, as rows.
// One invocation writes one element.

struct Params { rows: u32, cols: u32, off: u32, rs: u32, out_rs: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.rows * p.cols) {
    return;
  }
  let c = i / p.rows;
  let r = i - c * p.rows;
  out[c * p.out_rs + r] = src[p.off + r * p.rs + c];
}
