// attention-bias: scores[i] += bias[i mod period], in place. Swin's attention scores
// [windows of all images, heads, N, N] get the relative position bias and, in shifted blocks, the
// mask of each window: bias holds [windows of one image (1 when nothing shifts), heads, N, N], so
// it repeats once per image. One invocation per element.

struct Params { count: u32, period: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> scores: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.count) {
    return;
  }
  scores[i] = scores[i] + bias[i % p.period];
}
