// gelu-erf: the exact-erf GELU that timm uses, y = 0.5 * x * (1 + erf(x / sqrt(2))), as functions
// for the kernels that apply it (gelu, quantize-codes with APPLY_GELU), which the runtime compiles
// with this file appended (`libraries` in their descriptors), so both compute it bit for bit alike.
// WGSL has no erf: it comes from the Chebyshev-fitted erfc of Numerical Recipes (fractional error
// below 1.2e-7 everywhere). Not a kernel of its own.

fn erf_approx(v: f32) -> f32 {
  let z = abs(v);
  let t = 1.0 / (1.0 + 0.5 * z);
  let poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
             t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  let erfc = t * exp(-z * z + poly);
  return select(erfc - 1.0, 1.0 - erfc, v >= 0.0);
}

fn gelu(v: f32) -> f32 {
  return 0.5 * v * (1.0 + erf_approx(v * 0.70710678118654752));
}
