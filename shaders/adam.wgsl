// adam: one step of torch.optim.Adam (no weight decay, no amsgrad), in place on param, m and v.
// One invocation updates one element:
//   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
//   param -= step_size * m / (sqrt(v) / bc2_sqrt + eps)
// with step_size = lr / (1 - beta1^step) and bc2_sqrt = sqrt(1 - beta2^step) from the host in float64.
// 1 - beta1 and 1 - beta2 come from the host too: 1 - f32(0.999) in f32 is off by 1.3e-5 relative.

struct Params { count: u32, beta1: f32, one_minus_beta1: f32, beta2: f32, one_minus_beta2: f32, step_size: f32, bc2_sqrt: f32, eps: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.count) {
    return;
  }
  let g = grad[i];
  let m1 = p.beta1 * m[i] + p.one_minus_beta1 * g;
  let v1 = p.beta2 * v[i] + p.one_minus_beta2 * g * g;
  m[i] = m1;
  v[i] = v1;
  param[i] -= p.step_size * m1 / (sqrt(v1) / p.bc2_sqrt + p.eps);
}
