// attention-scores: S[b, h, i, j] = scale * q[b, i, h, :] . k[b, j, h, :], reading q and k straight from
// the fused qkv projection laid out as timm's reshape(B, N, 3, H, hd): token row = [q | k | v].
// One invocation computes one score.

struct Params { batch: u32, tokens: u32, heads: u32, head_dim: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> scores: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let n = p.tokens;
  if (idx >= p.batch * p.heads * n * n) {
    return;
  }
  let j = idx % n;
  let i = (idx / n) % n;
  let h = (idx / (n * n)) % p.heads;
  let b = idx / (n * n * p.heads);
  let dim = p.heads * p.head_dim;
  let q0 = (b * n + i) * 3u * dim + h * p.head_dim;
  let k0 = (b * n + j) * 3u * dim + dim + h * p.head_dim;
  var acc = 0.0;
  for (var d = 0u; d < p.head_dim; d++) {
    acc += qkv[q0 + d] * qkv[k0 + d];
  }
  scores[idx] = acc * p.scale;
}
