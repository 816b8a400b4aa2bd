// fake-quant: uniform asymmetric quantize-dequantize, y = (clamp(round(x / s) + round(z), 0, qmax) - round(z)) * s,
// with WGSL's round() (ties to even) as the method's torch.round. The tensor is viewed as a 4-D index
// (i0, i1, i2, i3) with sizes n*, and three sets of strides map that index to the element's address
// (a*, plus an offset; the same address in x and y), to its scale (s*) and to its zero-point (z*).
// That one mapping covers every granularity the method uses: per output channel for weights,
// per token for linear inputs, per head x token for q/k/attention and per head x channel for v,
// reading q, k and v in place from the fused qkv tensor. One invocation handles SPAN (1, 2 or 4)
// consecutive elements along i3 (the host moves size-1 dims out of the way and picks the largest
// SPAN dividing n3), sharing their index arithmetic and, where the scale and zero-point do not
// vary along i3, their loads: on SwiftShader an invocation's overhead and its loads cost far more
// than the arithmetic.

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

fn quant(v: f32, s: f32, z: f32) -> f32 {
  return (clamp(round(v / s) + z, 0.0, p.qmax) - z) * s;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = (gid.x + gid.y * nwg.x * WG) * SPAN;
  if (idx >= p.n0 * p.n1 * p.n2 * p.n3) {
    return;
  }
  let i3 = idx % p.n3;
  let i2 = (idx / p.n3) % p.n2;
  let i1 = (idx / (p.n3 * p.n2)) % p.n1;
  let i0 = idx / (p.n3 * p.n2 * p.n1);
  let at = p.offset + i0 * p.a0 + i1 * p.a1 + i2 * p.a2 + i3 * p.a3;
  let si = i0 * p.s0 + i1 * p.s1 + i2 * p.s2 + i3 * p.s3;
  let zi = i0 * p.z0 + i1 * p.z1 + i2 * p.z2 + i3 * p.z3;
  let s = scale[si];
  let z = round(zero_point[zi]);
  y[at] = quant(x[at], s, z);
  if (SPAN == 1u) {
    return;
  }
  if (p.s3 == 0u && p.z3 == 0u) {
    y[at + p.a3] = quant(x[at + p.a3], s, z);
    if (SPAN == 4u) {
      y[at + 2u * p.a3] = quant(x[at + 2u * p.a3], s, z);
      y[at + 3u * p.a3] = quant(x[at + 3u * p.a3], s, z);
    }
  } else {
    for (var j = 1u; j < SPAN; j++) {
      y[at + j * p.a3] = quant(x[at + j * p.a3], scale[si + j * p.s3], round(zero_point[zi + j * p.z3]));
    }
  }
}
