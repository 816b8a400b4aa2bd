// attention-context: O[b, i, h*hd + d] = sum_j A[b, h, i, j] * v[b, j, h, d], with v read from the fused
// qkv projection (token row = [q | k | v]) and the heads merged back into one row per token.
// One invocation computes one output element.

struct Params { batch: u32, tokens: u32, heads: u32, head_dim: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> attn: array<f32>;
@group(0) @binding(2) var<storage, read> qkv: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let n = p.tokens;
  let dim = p.heads * p.head_dim;
  if (idx >= p.batch * n * dim) {
    return;
  }
  let c = idx % dim;
  let h = c / p.head_dim;
  let i = (idx / dim) % n;
  let b = idx / (dim * n);
  let a0 = ((b * p.heads + h) * n + i) * n;
  let v0 = b * n * 3u * dim + 2u * dim + c;
  var acc = 0.0;
  for (var j = 0u; j < n; j++) {
    acc += attn[a0 + j] * qkv[v0 + j * 3u * dim];
  }
  out[idx] = acc;
}
