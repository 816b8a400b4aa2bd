// kl-loss, first pass: (1 / rows) * sum_r KL(softmax(target_logits[r, :] / T) || softmax(yhat[r, :] / T)),
// PyTorch's kl_div on log-probabilities with reduction 'batchmean' (T = 1 / inv_t: 1 for the head
// unit's loss, 20 for the method's Fisher snapshots), as `parts` partial sums: invocation t computes
// the KLs of rows t, t + parts, ... (rows are a batch of class logits: few and short) and Kahan-sums
// them (reduction.wgsl) into partial[t]; reduce-partials adds the partials in a fixed order and divides
// by rows. The host fixes `parts` from rows alone, so the result is deterministic.
// Per row, with lse = max + log(sum exp(x - max)) so exp never overflows:
//   log p - log q = (t - yhat) - (lse_t - lse_yhat),  KL = sum_c p_c (log p_c - log q_c).

struct Params { rows: u32, cols: u32, inv_t: f32, parts: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> yhat: array<f32>;
@group(0) @binding(2) var<storage, read> target_logits: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

override WG: u32 = 64u;

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
  var k = Kahan(0.0, 0.0);
  for (var c = 0u; c < p.cols; c++) {
    let t = tl(base + c);
    k = kahan_add(k, exp(t - mt) * ((t - yl(base + c)) - shift));
  }
  return k.sum / st;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.parts) {
    return;
  }
  var k = Kahan(0.0, 0.0);
  for (var r = t; r < p.rows; r += p.parts) {
    k = kahan_add(k, row_kl(r));
  }
  partial[t] = k.sum;
}
