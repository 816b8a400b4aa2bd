// mean-pool: out[b, d] = (1/T) sum_t x[b, t, d], the tokens' average (Swin's head pools every
// token where a ViT takes the class token). One invocation per output element, summing in token
// order.

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
  let base = (idx / p.dim) * p.tokens * p.dim + d;
  var sum = 0.0;
  for (var t = 0u; t < p.tokens; t++) {
    sum += x[base + t * p.dim];
  }
  out[idx] = sum / f32(p.tokens);
}
