// adaround-weight: AdaRound's quantize-dequantize of a [rows, cols] weight with frozen per-row scale s
// and integer zero-point z: w_hat = (clamp(base + r + z, 0, qmax) - z) * s, with base = floor(w / s)
// from adaround-init and the rounding r = h(alpha) = clamp(sigmoid(alpha) (zeta - gamma) + gamma, 0, 1)
// when soft, r = [alpha >= 0] when hard. One invocation handles one element.

struct Params { rows: u32, cols: u32, qmax: f32, hard: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> base: array<f32>;
@group(0) @binding(2) var<storage, read> alpha: array<f32>;
@group(0) @binding(3) var<storage, read> scale: array<f32>;
@group(0) @binding(4) var<storage, read> zero_point: array<f32>;
@group(0) @binding(5) var<storage, read_write> w_hat: array<f32>;

override WG: u32 = 256u;

const ZETA: f32 = 1.1;
const GAMMA: f32 = -0.1;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.rows * p.cols) {
    return;
  }
  let row = i / p.cols;
  let a = alpha[i];
  let soft = clamp((ZETA - GAMMA) / (1.0 + exp(-a)) + GAMMA, 0.0, 1.0);
  let r = select(soft, select(0.0, 1.0, a >= 0.0), p.hard != 0u);
  let z = zero_point[row];
  // Clamping base + r to [-z, qmax - z] is the same set as base + r + z to [0, qmax], but a large z
  // cannot take bits from a small base + r.
  w_hat[i] = clamp(base[i] + r, -z, p.qmax - z) * scale[row];
}
