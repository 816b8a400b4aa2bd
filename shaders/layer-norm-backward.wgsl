// layer-norm-backward: the input gradient of y = xhat * gamma + beta, xhat = (x - mean) * rstd, over
// contiguous rows of length `dim` (gamma and beta are frozen, so no parameter gradients):
//   dx[r, :] = rstd * (g - mean(g) - xhat * mean(g * xhat)),  g = dy[r, :] * gamma.
// One invocation handles one row. mean and rstd are recomputed from x with the forward's two passes
// (mean, then biased variance), so the backward sees the same statistics as layer-norm.wgsl.

struct Params { rows: u32, dim: u32, eps: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) {
    return;
  }
  let base = r * p.dim;
  let n = f32(p.dim);
  var sum = 0.0;
  for (var d = 0u; d < p.dim; d++) {
    sum += x[base + d];
  }
  let mean = sum / n;
  var sq = 0.0;
  for (var d = 0u; d < p.dim; d++) {
    let c = x[base + d] - mean;
    sq += c * c;
  }
  let rstd = inverseSqrt(sq / n + p.eps);
  var sum_g = 0.0;
  var sum_gx = 0.0;
  for (var d = 0u; d < p.dim; d++) {
    let g = dy[base + d] * gamma[d];
    sum_g += g;
    sum_gx += g * (x[base + d] - mean) * rstd;
  }
  let mean_g = sum_g / n;
  let mean_gx = sum_gx / n;
  for (var d = 0u; d < p.dim; d++) {
    let xhat = (x[base + d] - mean) * rstd;
    dx[base + d] = rstd * (dy[base + d] * gamma[d] - mean_g - xhat * mean_gx);
  }
}
