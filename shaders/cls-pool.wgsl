// cls-pool: class-token pooling, out[b, :] = x[b, 0, :]. One invocation copies one element.

struct Params { batch: u32, tokens: u32, dim: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.batch * p.dim) {
    return;
  }
  let d = idx % p.dim;
  let b = idx / p.dim;
  out[idx] = x[b * p.tokens * p.dim + d];
}
