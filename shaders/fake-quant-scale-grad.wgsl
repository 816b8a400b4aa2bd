// fake-quant-scale-grad: the gradient of fake-quant-train's output w.r.t. the learnable scale, summed per
// scale entry. Per element (round is the straight-through estimator, z is frozen, torch.clamp passes the
// gradient where 0 <= t <= qmax inclusive, t = round(x / s) + round(z)):
//   float path (noise[idx] >= keep_prob): 0
//   0 <= t <= qmax:                        dy * (round(x / s) - x / s)
//   clamped:                               dy * (clamp(t, 0, qmax) - round(z))
// Invocation g sums part c = g % parts of scale entry j = g / parts and writes the partial sum to
// grad[g] (the host adds the parts of each entry in order when parts > 1): a per-tensor scale over a
// large activation would otherwise be one invocation's loop. No workgroup reduction: on CPU
// implementations such as SwiftShader every barrier of every workgroup costs (it was a fifth of a
// reconstruction step there). It assumes the map from the dims with a non-zero scale stride to
// Σ i_k * s_k is a bijection onto 0..scale_count-1 (a mixed radix; the host checks it), so j fixes
// those coordinates as (j / s_k) % n_k and the part strides over the remaining "free" dims in a fixed
// order (neighbouring invocations on neighbouring elements), Kahan-summing its share, so the result
// is deterministic without atomics.

struct Params {
  n0: u32, n1: u32, n2: u32, n3: u32,
  offset: u32, a0: u32, a1: u32, a2: u32, a3: u32,
  s0: u32, s1: u32, s2: u32, s3: u32,
  z0: u32, z1: u32, z2: u32, z3: u32,
  qmax: f32,
  keep_prob: f32,
  scale_count: u32,
  parts: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> zero_point: array<f32>;
@group(0) @binding(4) var<storage, read> noise: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> grad: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.x + gid.y * nwg.x * WG;
  if (g >= p.scale_count * p.parts) {
    return;
  }
  let j = g / p.parts;
  let part = g % p.parts;
  let n = vec4<u32>(p.n0, p.n1, p.n2, p.n3);
  let sc = vec4<u32>(p.s0, p.s1, p.s2, p.s3);
  let scaled = sc != vec4<u32>(0u);
  let pinned = (vec4<u32>(j) / max(sc, vec4<u32>(1u))) % n;
  let free = select(n, vec4<u32>(1u), scaled);
  let s = scale[j];
  var total = Kahan(0.0, 0.0);
  for (var e = part; e < free.x * free.y * free.z * free.w; e += p.parts) {
    let fi = vec4<u32>(e / (free.y * free.z * free.w), (e / (free.z * free.w)) % free.y, (e / free.w) % free.z, e % free.w);
    let i = select(fi, pinned, scaled);
    let at = p.offset + i.x * p.a0 + i.y * p.a1 + i.z * p.a2 + i.w * p.a3;
    let idx = ((i.x * n.y + i.y) * n.z + i.z) * n.w + i.w;
    let z = round(zero_point[i.x * p.z0 + i.y * p.z1 + i.z * p.z2 + i.w * p.z3]);
    let u = x[at] / s;
    let r = round(u);
    let t = r + z;
    let d = select(clamp(t, 0.0, p.qmax) - z, r - u, t >= 0.0 && t <= p.qmax);
    total = kahan_add(total, select(0.0, dy[at] * d, noise[idx] < p.keep_prob));
  }
  grad[g] = total.sum;
}
