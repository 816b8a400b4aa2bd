// reduce-sum: out[r] = sum_j x[r * cols + j], with Kahan compensation (reduction.wgsl) so long rows (tens
// of thousands of partial losses) keep float32 accuracy, in a fixed order (deterministic). One
// invocation sums one row.

struct Params { rows: u32, cols: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) {
    return;
  }
  var k = Kahan(0.0, 0.0);
  let base = r * p.cols;
  for (var j = 0u; j < p.cols; j++) {
    k = kahan_add(k, x[base + j]);
  }
  out[r] = k.sum;
}
