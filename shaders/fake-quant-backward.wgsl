// fake-quant-backward: dx of fake-quant-train, as PyTorch autograd gives it for the method's code. round is
// the straight-through estimator and torch.clamp passes the gradient where 0 <= t <= qmax (inclusive),
// t = round(x / s) + round(z), so dx = 0 only where the element took the quantized path
// (noise[idx] < keep_prob) and t was clamped; everywhere else dx = dy. x, dy and dx share the view's
// addresses (same view, index and noise as fake-quant-train); dx outside the view is left as it is.
// One invocation handles SPAN (1, 2 or 4) consecutive elements along i3, walked by
// fake-quant-walk.wgsl.

struct Params {
  n0: u32, n1: u32, n2: u32, n3: u32,
  offset: u32, a0: u32, a1: u32, a2: u32, a3: u32,
  s0: u32, s1: u32, s2: u32, s3: u32,
  z0: u32, z1: u32, z2: u32, z3: u32,
  qmax: f32,
  keep_prob: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> zero_point: array<f32>;
@group(0) @binding(4) var<storage, read> noise: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

override WG: u32 = 256u;
override SPAN: u32 = 1u;

// Element at address `at`, flat view index `idx`.
fn element(at: u32, idx: u32, s: f32, z: f32) {
  let t = round(x[at] / s) + z;
  let clamped = t < 0.0 || t > p.qmax;
  dx[at] = select(dy[at], 0.0, noise[idx] < p.keep_prob && clamped);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  walk_view((gid.x + gid.y * nwg.x * WG) * SPAN);
}
