// project-rows, first pass: out[m, n] = sum_k x[m, k] * g[n, k] for few n (a rank) and long rows
// (FIMA-Q's A = delta.G^T: K = tokens * width), split over K so that many invocations share the work.
// Invocation t takes column block n0 = 8 * (t / (parts * M)), row m = (t / parts) % M and part
// j = t % parts, and sums k = j, j + parts, j + 2 * parts, ... (neighbouring invocations read
// neighbouring elements of x and g), the block's 8 dot products as two vec4s (out-of-range columns
// are clamped on load and skipped on store), into partial[(m * N + n) * parts + j]. reduce-sum then
// adds each output's parts in order. Deterministic: the host fixes `parts` from K alone. No barriers,
// so the many workgroups stay cheap on CPU implementations too.

struct Params { M: u32, N: u32, K: u32, parts: u32, n_blocks: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

override WG: u32 = 64u;

fn store(m: u32, n: u32, j: u32, v: f32) {
  if (n < p.N) {
    partial[(m * p.N + n) * p.parts + j] = v;
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.parts * p.M * p.n_blocks) {
    return;
  }
  let j = t % p.parts;
  let m = (t / p.parts) % p.M;
  let n0 = (t / (p.parts * p.M)) * 8u;
  let g0 = min(n0 + 0u, p.N - 1u) * p.K;
  let g1 = min(n0 + 1u, p.N - 1u) * p.K;
  let g2 = min(n0 + 2u, p.N - 1u) * p.K;
  let g3 = min(n0 + 3u, p.N - 1u) * p.K;
  let g4 = min(n0 + 4u, p.N - 1u) * p.K;
  let g5 = min(n0 + 5u, p.N - 1u) * p.K;
  let g6 = min(n0 + 6u, p.N - 1u) * p.K;
  let g7 = min(n0 + 7u, p.N - 1u) * p.K;
  let xm = m * p.K;
  var lo = vec4<f32>(0.0);
  var hi = vec4<f32>(0.0);
  for (var k = j; k < p.K; k += p.parts) {
    let xv = x[xm + k];
    lo += xv * vec4<f32>(g[g0 + k], g[g1 + k], g[g2 + k], g[g3 + k]);
    hi += xv * vec4<f32>(g[g4 + k], g[g5 + k], g[g6 + k], g[g7 + k]);
  }
  store(m, n0 + 0u, j, lo.x);
  store(m, n0 + 1u, j, lo.y);
  store(m, n0 + 2u, j, lo.z);
  store(m, n0 + 3u, j, lo.w);
  store(m, n0 + 4u, j, hi.x);
  store(m, n0 + 5u, j, hi.y);
  store(m, n0 + 6u, j, hi.z);
  store(m, n0 + 7u, j, hi.w);
}
