// calib-self-loss: for row r and its candidate c (scale, zero-point at r * C + c), the quantization error
// sum_k (fq(v[r * rs + k * cs]) - v[...])^2 over the row's `len` elements. Rows are weight output
// channels (rs = K, cs = 1), input channels for RepQ-ViT's per-channel pre-calibration (rs = 1,
// cs = D), or the whole input tensor as one row. One invocation computes one (r, c), Kahan-summed
// (reduction.wgsl). The sum and its compensation are stored; with `resume` a dispatch continues
// them, so a tensor that comes in chunks of whole rows of the data (one dispatch per chunk, in
// order) adds up exactly as in one dispatch over all of it.

struct Params { rows: u32, len: u32, rs: u32, cs: u32, C: u32, resume: u32, qmax: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read> cand_scale: array<f32>;
@group(0) @binding(3) var<storage, read> cand_zero_point: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;
@group(0) @binding(5) var<storage, read_write> compensation: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.rows * p.C) {
    return;
  }
  let r = idx / p.C;
  let s = cand_scale[idx];
  let z = round(cand_zero_point[idx]);
  var total = Kahan(0.0, 0.0);
  if (p.resume != 0u) {
    total = Kahan(loss[idx], compensation[idx]);
  }
  for (var k = 0u; k < p.len; k++) {
    let x = v[r * p.rs + k * p.cs];
    let e = (clamp(round(x / s) + z, 0.0, p.qmax) - z) * s - x;
    total = kahan_add(total, e * e);
  }
  loss[idx] = total.sum;
  compensation[idx] = total.comp;
}
