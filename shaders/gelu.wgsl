// gelu: y = 0.5 * x * (1 + erf(x / sqrt(2))), the exact form timm uses. WGSL has no erf, so erf comes
// from the Chebyshev-fitted erfc of Numerical Recipes (fractional error below 1.2e-7 everywhere).
// One invocation computes one element.

struct Params { count: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override WG: u32 = 256u;

fn erf_approx(v: f32) -> f32 {
  let z = abs(v);
  let t = 1.0 / (1.0 + 0.5 * z);
  let poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
             t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  let erfc = t * exp(-z * z + poly);
  return select(erfc - 1.0, 1.0 - erfc, v >= 0.0);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.count) {
    return;
  }
  let v = x[i];
  y[i] = 0.5 * v * (1.0 + erf_approx(v * 0.70710678118654752));
}
