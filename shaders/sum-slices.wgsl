// sum-slices: the second pass of a matmul whose K was split into slices (src/ops/matmul.ts), so that
// a product with few output tiles but a long K (a weight gradient over every token of a batch) still
// spreads over many workgroups. The slices' partial products, slices[s * M * N + m * N + n], are added
// in slice order, a fixed order, so the result repeats bit for bit; then scaled and biased as the
// unsplit product would be:
//   c[c_off + m * c_rs + n] = alpha * sum_s slices[s, m, n] (+ bias[n]).
// One invocation per output element.

struct Params { M: u32, N: u32, slices: u32, c_off: u32, c_rs: u32, alpha: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> slices: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

override WG: u32 = 64u;
override HAS_BIAS: bool = false;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let size = p.M * p.N;
  if (idx >= size) {
    return;
  }
  var s = 0.0;
  for (var k = 0u; k < p.slices; k++) {
    s += slices[k * size + idx];
  }
  let n = idx % p.N;
  var out = p.alpha * s;
  if (HAS_BIAS) {
    out += bias[n];
  }
  c[p.c_off + (idx / p.N) * p.c_rs + n] = out;
}
