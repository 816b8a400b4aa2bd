// gelu-backward: dx = dy * gelu'(x) for the exact form gelu(x) = x * Phi(x), where Phi is the standard
// normal CDF and phi its density: gelu'(x) = Phi(x) + x * phi(x).
// Phi uses the same Numerical Recipes erfc fit as gelu.wgsl, but as erfc itself: for x < 0,
// Phi(x) = erfc(-x / sqrt 2) / 2 keeps its relative accuracy, where 1 + erf(x / sqrt 2) would cancel.
// One invocation computes one element.

struct Params { count: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

override WG: u32 = 256u;

// erfc(z) for z >= 0 (fractional error below 1.2e-7).
fn erfc_nonneg(z: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * z);
  let poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
             t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp(-z * z + poly);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.count) {
    return;
  }
  let v = x[i];
  let tail = 0.5 * erfc_nonneg(abs(v) * 0.70710678118654752);
  let cdf = select(tail, 1.0 - tail, v >= 0.0);
  let pdf = 0.39894228040143268 * exp(-0.5 * v * v);
  dx[i] = dy[i] * (cdf + v * pdf);
}
