// mean-pool-backward: dx[b, t, d] = dy[b, d] / T. The average gives every token the same share of
// the pooled gradient (the backward of Swin's global average pooling, for the Fisher tail).

struct Params { batch: u32, tokens: u32, dim: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.batch * p.tokens * p.dim) {
    return;
  }
  let d = idx % p.dim;
  let b = idx / (p.tokens * p.dim);
  dx[idx] = dy[b * p.dim + d] / f32(p.tokens);
}
