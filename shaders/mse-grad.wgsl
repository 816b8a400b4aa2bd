// mse-grad: grad[i] = 2 (yhat[i] - y[i]) / (rows * norm[norm_index]), the gradient of the
// self-normalised loss L / L0. L0 is read from a storage buffer so the host never reads it back.
// With HAS_WEIGHT the loss is the weighted one of mse-loss, and grad[i] gains a factor weight[i]^2.
// One invocation computes one element.

struct Params { count: u32, rows: u32, norm_index: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> yhat: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> norm: array<f32>;
@group(0) @binding(4) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read_write> grad: array<f32>;

override WG: u32 = 256u;
override HAS_WEIGHT: bool = false;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.count) {
    return;
  }
  var scale = 2.0 / (f32(p.rows) * norm[p.norm_index]);
  if (HAS_WEIGHT) {
    scale *= weight[i] * weight[i];
  }
  grad[i] = (yhat[i] - y[i]) * scale;
}
