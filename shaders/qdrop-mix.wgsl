// qdrop-mix: QDrop's element-wise mix, out[i] = noise[i] < keep_prob ? quantized[i] : float[i], with noise
// uniform in (0, 1], so each element keeps its quantized value with probability keep_prob.
// One invocation computes one element.

struct Params { count: u32, keep_prob: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> quantized: array<f32>;
@group(0) @binding(2) var<storage, read> float_value: array<f32>;
@group(0) @binding(3) var<storage, read> noise: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.count) {
    return;
  }
  out[i] = select(float_value[i], quantized[i], noise[i] < p.keep_prob);
}
