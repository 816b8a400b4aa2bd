// abs-accumulate: acc[d] += sum_b |x[b * cols + d] - y[b * cols + d]| over rows b (with HAS_Y; else
// |x| alone; with SQUARE, x^2 instead of |x|). The streamed sums of the method's Fisher snapshots:
// mean |dL/dz| and mean |z_q - z_fp| over the calibration set, one minibatch at a time, without
// keeping per-image gradients; squared, the diagonal of the empirical Fisher matrix (eig-fim). One
// invocation owns one column and adds its rows in order, so results repeat bit for bit.

struct Params { rows: u32, cols: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> acc: array<f32>;

override WG: u32 = 256u;
override HAS_Y: bool = false;
override SQUARE: bool = false;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let d = gid.x + gid.y * nwg.x * WG;
  if (d >= p.cols) {
    return;
  }
  var s = 0.0;
  for (var b = 0u; b < p.rows; b++) {
    var v = x[b * p.cols + d];
    if (HAS_Y) {
      v -= y[b * p.cols + d];
    }
    if (SQUARE) {
      s += v * v;
    } else {
      s += abs(v);
    }
  }
  acc[d] += s;
}
