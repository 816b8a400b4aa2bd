// layer-norm: y[r, :] = (x[r, :] - mean) / sqrt(var + eps) * gamma + beta over rows of length `dim`.
// One invocation normalises one row (two passes over the row: mean, then variance, for accuracy).
// Row strides let it read a strided subset of rows, e.g. only the class tokens.

struct Params { rows: u32, dim: u32, in_rs: u32, out_rs: u32, eps: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) {
    return;
  }
  let xi = r * p.in_rs;
  let yi = r * p.out_rs;
  var sum = 0.0;
  for (var d = 0u; d < p.dim; d++) {
    sum += x[xi + d];
  }
  let mean = sum / f32(p.dim);
  var sq = 0.0;
  for (var d = 0u; d < p.dim; d++) {
    let c = x[xi + d] - mean;
    sq += c * c;
  }
  let inv = inverseSqrt(sq / f32(p.dim) + p.eps);
  for (var d = 0u; d < p.dim; d++) {
    y[yi + d] = (x[xi + d] - mean) * inv * gamma[d] + beta[d];
  }
}
