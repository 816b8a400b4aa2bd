// fake-quant-train: fake-quant's training forward with QDrop. Through the same 4-D view as fake-quant
// (address, scale and zero-point strides), xq = (clamp(round(x / s) + round(z), 0, qmax) - round(z)) * s,
// and the element keeps xq only where noise < keep_prob, else it passes x through:
// y = noise[idx] < keep_prob ? xq : x. noise is indexed by the flat view index
// idx = ((i0 * n1 + i1) * n2 + i2) * n3 + i3, so one noise draw covers exactly the viewed elements.
// The arithmetic is fake-quant's, so keep_prob = 1 gives its output bit for bit. One invocation
// handles SPAN (1, 2 or 4) consecutive elements along i3, walked by fake-quant-walk.wgsl.

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
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

override WG: u32 = 256u;
override SPAN: u32 = 1u;

// Element at address `at`, flat view index `idx`.
fn element(at: u32, idx: u32, s: f32, z: f32) {
  let v = x[at];
  let q = clamp(round(v / s) + z, 0.0, p.qmax);
  y[at] = select(v, (q - z) * s, noise[idx] < p.keep_prob);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  walk_view((gid.x + gid.y * nwg.x * WG) * SPAN);
}
