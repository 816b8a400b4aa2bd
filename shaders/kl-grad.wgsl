// kl-grad: grad[r, c] = (softmax(yhat[r, :] / T)[c] - softmax(target_logits[r, :] / T)[c]) / (rows * T),
// the gradient of kl-loss (batchmean, temperature T = 1 / inv_t) with respect to yhat. One workgroup handles one row: its invocations stride
// over the classes and tree-reduce the two row maxima, then the two sums of exp(x - max), then write.
// WG must be a power of two.

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

// (target, yhat) pairs, so both rows reduce in one pass.
var<workgroup> partial: array<vec2<f32>, WG>;

fn reduce_max(lid: u32, v: vec2<f32>) -> vec2<f32> {
  partial[lid] = v;
  workgroupBarrier();
  for (var width = WG / 2u; width > 0u; width /= 2u) {
    if (lid < width) {
      partial[lid] = max(partial[lid], partial[lid + width]);
    }
    workgroupBarrier();
  }
  let total = partial[0];
  // Every invocation must read the result before the next reduction overwrites it.
  workgroupBarrier();
  return total;
}

fn reduce_sum(lid: u32, v: vec2<f32>) -> vec2<f32> {
  partial[lid] = v;
  workgroupBarrier();
  for (var width = WG / 2u; width > 0u; width /= 2u) {
    if (lid < width) {
      partial[lid] += partial[lid + width];
    }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
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
  m = reduce_max(lid, m);
  var s = vec2<f32>(0.0, 0.0);
  for (var c = lid; c < p.cols; c += WG) {
    s += exp(logits(base + c) - m);
  }
  s = reduce_sum(lid, s);
  let inv = p.inv_t / (s * f32(p.rows));
  for (var c = lid; c < p.cols; c += WG) {
    let l = logits(base + c);
    grad[base + c] = exp(l.y - m.y) * inv.y - exp(l.x - m.x) * inv.x;
  }
}
