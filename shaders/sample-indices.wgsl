// sample-indices: draws `count` distinct indices from 0..population-1 by a partial Fisher-Yates shuffle,
// so a minibatch is sampled without replacement and without a readback. perm[0..population) is reset
// to the identity in parallel, then invocation 0 replays the sequential swaps: for b < count,
// j = b + min(floor(noise[b] * (population - b)), population - b - 1), swap perm[b] and perm[j],
// out[b] = perm[b]. The min() guards noise that rounded up to 1.0 in float32. Dispatch one workgroup.

struct Params { population: u32, count: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> noise: array<f32>;
@group(0) @binding(2) var<storage, read_write> perm: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  for (var i = lid; i < p.population; i += WG) {
    perm[i] = i;
  }
  storageBarrier();
  if (lid != 0u) {
    return;
  }
  for (var b = 0u; b < p.count; b++) {
    let left = p.population - b;
    let j = b + min(u32(floor(noise[b] * f32(left))), left - 1u);
    let picked = perm[j];
    perm[j] = perm[b];
    perm[b] = picked;
    out[b] = picked;
  }
}
