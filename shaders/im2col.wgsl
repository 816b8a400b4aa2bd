// im2col: the PxP stride-P patches of images [B, C, H, W] as rows [B*N, C*P*P], in the order of a
// patch-embedding weight [D, C, P, P] flattened per output channel, so the convolution becomes a
// linear layer (the integer pipeline multiplies these rows with the packed conv weight):
// rows[b*N + n, (c*P + ky)*P + kx] = img[b, c, gy*P + ky, gx*P + kx], n = gy*grid_w + gx.
// One invocation copies one element.

struct Params { batch: u32, channels: u32, height: u32, width: u32, patch_size: u32, grid_w: u32, patches: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> img: array<f32>;
@group(0) @binding(2) var<storage, read_write> rows: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let pp = p.patch_size * p.patch_size;
  let cols = p.channels * pp;
  if (idx >= p.batch * p.patches * cols) {
    return;
  }
  let col = idx % cols;
  let row = idx / cols;
  let n = row % p.patches;
  let b = row / p.patches;
  let c = col / pp;
  let ky = (col % pp) / p.patch_size;
  let kx = col % p.patch_size;
  let y = (n / p.grid_w) * p.patch_size + ky;
  let x = (n % p.grid_w) * p.patch_size + kx;
  rows[idx] = img[((b * p.channels + c) * p.height + y) * p.width + x];
}
