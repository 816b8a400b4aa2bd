// kl-grad: grad[r, c] = (softmax(yhat[r, :] / T)[c] - softmax(target_logits[r, :] / T)[c]) / (rows * T),
// the gradient of kl-loss (batchmean, temperature T = 1 / inv_t) with respect to yhat. One workgroup handles one row: its invocations stride
// over the classes and tree-reduce the two row maxima, then the two sums of exp(x - max) (reduction.wgsl),
// then write. WG must be a power of two.

struct Params { rows: u32, cols: u32, inv_t: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> yhat: array<f32>;
@group(0) @binding(2) var<storage, read> target_logits: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;

override WG: u32 = 64u;

// Both rows' logits at element i, divided by the temperature.
fn logits(i: u32) -> vec2<f32> {
  return vec2<f32>(target_logits[i], yhat[i]) * p.inv_t;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.rows) {
    return;
  }
  let base = r * p.cols;
  // Invocations past the row's end start from its first element, which leaves the maximum unchanged.
  var m = logits(base);
  for (var c = lid; c < p.cols; c += WG) {
    m = max(m, logits(base + c));
  }
  m = workgroup_max2(lid, m);
  var s = vec2<f32>(0.0, 0.0);
  for (var c = lid; c < p.cols; c += WG) {
    s += exp(logits(base + c) - m);
  }
  s = workgroup_sum2(lid, s);
  let inv = p.inv_t / (s * f32(p.rows));
  for (var c = lid; c < p.cols; c += WG) {
    let l = logits(base + c);
    grad[base + c] = exp(l.y - m.y) * inv.y - exp(l.x - m.x) * inv.x;
  }
}
