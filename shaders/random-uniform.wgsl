// random-uniform: out[i] = float32(((h >> 8) + 0.5) / 2^24), h = lowbias32(lowbias32(seed + stream * 0x9E3779B9)
// + i * 0x85EBCA6B), the counter-based generator of src/util/prng.ts (u32 arithmetic wraps as Math.imul does).
// The float64 value (2k + 1) / 2^25 (k = h >> 8) has 25 significant bits when k >= 2^23, so it is rounded
// to float32 here with integer steps, ties to even (as Float32Array does), never by an inexact
// int-to-float conversion; k = 2^24 - 1 therefore gives exactly 1.0. One invocation computes one element.

struct Params { count: u32, seed: u32, stream: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

fn lowbias32(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.count) {
    return;
  }
  let k = lowbias32(lowbias32(p.seed + p.stream * 0x9e3779b9u) + i * 0x85ebca6bu) >> 8u;
  let odd = 2u * k + 1u;
  // Below 2^24 the odd numerator is exact; above, (2k + 1) / 2 = k + 0.5 is a tie and goes to the even of k, k + 1.
  out[i] = select(ldexp(f32(k + (k & 1u)), -24), ldexp(f32(odd), -25), odd < 16777216u);
}
