// adaround-init: starts AdaRound from rounding-to-the-same-value. For a [rows, cols] weight with a
// frozen scale s per row, one invocation takes one element and writes base = floor(w / s) and the
// alpha with h(alpha) = frac = w / s - base, where h(alpha) = clamp(sigmoid(alpha) (zeta - gamma) + gamma, 0, 1):
// alpha = -log((zeta - gamma) / (frac - gamma) - 1). base is stored so that every later kernel, and
// the CPU, read the same floor even though the GPU's division need not be correctly rounded.
// frac lies in [0, 1] (it can round up to 1 when w / s is a tiny negative number), so the log's
// argument stays in [1.2 / 1.1 - 1, 11] and alpha in [-log(11), log(11)]: always finite.

struct Params { rows: u32, cols: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read_write> base: array<f32>;
@group(0) @binding(4) var<storage, read_write> alpha: array<f32>;

override WG: u32 = 256u;

const ZETA: f32 = 1.1;
const GAMMA: f32 = -0.1;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.rows * p.cols) {
    return;
  }
  let ratio = w[i] / scale[i / p.cols];
  let fl = floor(ratio);
  let frac = clamp(ratio - fl, 0.0, 1.0);
  base[i] = fl;
  alpha[i] = -log((ZETA - GAMMA) / (frac - GAMMA) - 1.0);
}
