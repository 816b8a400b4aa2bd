// cls-pool-backward: the gradient of class-token pooling, dx[b, t, :] = dy[b, :] for t = 0 and 0 for
// every other token. One invocation writes one element of dx.

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
  let t = (idx / p.dim) % p.tokens;
  let b = idx / (p.dim * p.tokens);
  dx[idx] = select(0.0, dy[b * p.dim + d], t == 0u);
}
