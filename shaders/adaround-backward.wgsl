// adaround-backward: gradient of sum(d_what * w_hat) + lambda * sum(1 - |2 h - 1|^beta) with respect
// to AdaRound's alpha, as PyTorch autograd gives it for the soft quantizer of adaround-weight
// (torch.clamp passes gradient where min <= v <= max, inclusive):
//   d_alpha = d_what * s * h'(alpha) * [0 <= base + h + z <= qmax]
//           - lambda * beta * |2 h - 1|^(beta - 1) * sign(2 h - 1) * 2 * h'(alpha),
//   h'(alpha) = sigmoid(alpha) (1 - sigmoid(alpha)) (zeta - gamma) * [0 <= sigmoid(alpha) (zeta - gamma) + gamma <= 1].
// lambda = 0 switches the regulariser off. One invocation handles one element.

struct Params { rows: u32, cols: u32, qmax: f32, reg_lambda: f32, reg_beta: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> base: array<f32>;
@group(0) @binding(2) var<storage, read> alpha: array<f32>;
@group(0) @binding(3) var<storage, read> scale: array<f32>;
@group(0) @binding(4) var<storage, read> zero_point: array<f32>;
@group(0) @binding(5) var<storage, read> d_what: array<f32>;
@group(0) @binding(6) var<storage, read_write> d_alpha: array<f32>;

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
  let sig = 1.0 / (1.0 + exp(-alpha[i]));
  let stretched = sig * (ZETA - GAMMA) + GAMMA;
  let h = clamp(stretched, 0.0, 1.0);
  let dh = select(0.0, sig * (1.0 - sig) * (ZETA - GAMMA), stretched >= 0.0 && stretched <= 1.0);
  // k = base + z is an integer and h lies in [0, 1], so 0 <= k + h <= qmax is decided on k and h
  // apart: no rounding of k + h can move an element across the edge.
  let k = base[i] + zero_point[row];
  let inside = (k >= 0.0 && k < p.qmax) || (k == -1.0 && h == 1.0) || (k == p.qmax && h == 0.0);
  var g = select(0.0, d_what[i] * scale[row] * dh, inside);
  if (p.reg_lambda != 0.0) {
    let t = 2.0 * h - 1.0;
    // pow(0, y) is undefined in WGSL; |t|^(beta - 1) * sign(t) is 0 at t = 0 for beta > 1.
    var term = 0.0;
    if (t != 0.0) {
      term = pow(abs(t), p.reg_beta - 1.0) * sign(t);
    }
    g -= p.reg_lambda * p.reg_beta * term * 2.0 * dh;
  }
  d_alpha[i] = g;
}
