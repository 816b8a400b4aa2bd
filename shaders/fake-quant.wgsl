// fake-quant: uniform asymmetric quantize-dequantize, y = (clamp(round(x / s) + round(z), 0, qmax) - round(z)) * s,
// with WGSL's round() (ties to even) as the method's torch.round. The tensor is viewed as a 4-D index
// (i0, i1, i2, i3) with sizes n*, and three sets of strides map that index to the element's address
// (a*, plus an offset; the same address in x and y), to its scale (s*) and to its zero-point (z*).
// That one mapping covers every granularity the method uses: per output channel for weights,
// per token for linear inputs, per head x token for q/k/attention and per head x channel for v,
// reading q, k and v in place from the fused qkv tensor. One invocation handles SPAN (1, 2 or 4)
// consecutive elements along i3 (the host moves size-1 dims out of the way and picks the largest
// SPAN dividing n3), walked by fake-quant-walk.wgsl: on SwiftShader an invocation's overhead and
// its loads cost far more than the arithmetic.

struct Params {
  n0: u32, n1: u32, n2: u32, n3: u32,
  offset: u32, a0: u32, a1: u32, a2: u32, a3: u32,
  s0: u32, s1: u32, s2: u32, s3: u32,
  z0: u32, z1: u32, z2: u32, z3: u32,
  qmax: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> zero_point: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

override WG: u32 = 256u;
override SPAN: u32 = 1u;

// Element at address `at` (the flat view index is not needed here).
fn element(at: u32, idx: u32, s: f32, z: f32) {
  y[at] = (clamp(round(x[at] / s) + z, 0.0, p.qmax) - z) * s;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  walk_view((gid.x + gid.y * nwg.x * WG) * SPAN);
}
