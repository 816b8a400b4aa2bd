// embed-tokens: prepends the class token and adds position embeddings (timm's _pos_embed):
// x[b, 0, :] = cls + pos[0, :];  x[b, t, :] = patches[b, t-1, :] + pos[t, :] for t >= 1.
// One invocation computes one output element.

struct Params { batch: u32, tokens: u32, dim: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> patches: array<f32>;
@group(0) @binding(2) var<storage, read> cls: array<f32>;
@group(0) @binding(3) var<storage, read> pos: array<f32>;
@group(0) @binding(4) var<storage, read_write> x: array<f32>;

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
  var v: f32;
  if (t == 0u) {
    v = cls[d];
  } else {
    v = patches[(b * (p.tokens - 1u) + t - 1u) * p.dim + d];
  }
  x[idx] = v + pos[t * p.dim + d];
}
