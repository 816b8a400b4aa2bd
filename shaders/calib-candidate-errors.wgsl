// calib-candidate-errors: the quantization error of every candidate, materialized so the losses can
// use plain matmuls: out[(g * C + c) * len + k] = fq(v[g * rs + k * cs]; cand[g * C + c]) - v[g * rs + k * cs],
// for groups g (weight output channels; or one group, the whole input tensor) and candidates c
// in [c0, c0 + C) of the group's table (tables hold `stride` candidates per group, so a large
// candidate set can be processed in chunks). One invocation computes one element.

struct Params { groups: u32, len: u32, rs: u32, cs: u32, C: u32, c0: u32, stride: u32, qmax: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read> cand_scale: array<f32>;
@group(0) @binding(3) var<storage, read> cand_zero_point: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.groups * p.C * p.len) {
    return;
  }
  let k = idx % p.len;
  let c = (idx / p.len) % p.C;
  let g = idx / (p.len * p.C);
  let t = g * p.stride + p.c0 + c;
  let s = cand_scale[t];
  let z = round(cand_zero_point[t]);
  let x = v[g * p.rs + k * p.cs];
  out[idx] = (clamp(round(x / s) + z, 0.0, p.qmax) - z) * s - x;
}
