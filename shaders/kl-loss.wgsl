// kl-loss: out[out_index] = (1 / rows) * sum_r KL(softmax(target_logits[r, :] / T) || softmax(yhat[r, :] / T)),
// PyTorch's kl_div on log-probabilities with reduction 'batchmean' (T = 1 / inv_t: 1 for the head
// unit's loss, 20 for the method's Fisher snapshots). Dispatch one workgroup: invocation k
// computes the KL of rows k, k + WG, ... (rows are few and short, a batch of class logits) and a tree
// reduction adds the per-invocation sums in a fixed order, so the result is deterministic.
// Per row, with lse = max + log(sum exp(x - max)) so exp never overflows:
//   log p - log q = (t - yhat) - (lse_t - lse_yhat),  KL = sum_c p_c (log p_c - log q_c).
// WG must be a power of two.

struct Params { rows: u32, cols: u32, out_index: u32, inv_t: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> yhat: array<f32>;
@group(0) @binding(2) var<storage, read> target_logits: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 64u;

var<workgroup> partial: array<f32, WG>;

fn tl(i: u32) -> f32 {
  return target_logits[i] * p.inv_t;
}

fn yl(i: u32) -> f32 {
  return yhat[i] * p.inv_t;
}

fn row_kl(r: u32) -> f32 {
  let base = r * p.cols;
  var mt = tl(base);
  var my = yl(base);
  for (var c = 1u; c < p.cols; c++) {
    mt = max(mt, tl(base + c));
    my = max(my, yl(base + c));
  }
  var st = 0.0;
  var sy = 0.0;
  for (var c = 0u; c < p.cols; c++) {
    st += exp(tl(base + c) - mt);
    sy += exp(yl(base + c) - my);
  }
  // lse_t - lse_yhat as one difference of maxima plus one log, so near-equal rows keep their precision.
  let shift = (mt - my) + log(st / sy);
  var acc = 0.0;
  var comp = 0.0;
  for (var c = 0u; c < p.cols; c++) {
    let t = tl(base + c);
    let v = exp(t - mt) * ((t - yl(base + c)) - shift) - comp;
    let next = acc + v;
    comp = (next - acc) - v;
    acc = next;
  }
  return acc / st;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  var comp = 0.0;
  for (var r = lid; r < p.rows; r += WG) {
    let v = row_kl(r) - comp;
    let t = s + v;
    comp = (t - s) - v;
    s = t;
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var width = WG / 2u; width > 0u; width /= 2u) {
    if (lid < width) {
      partial[lid] += partial[lid + width];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[p.out_index] = partial[0] / f32(p.rows);
  }
}
