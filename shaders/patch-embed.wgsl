// patch-embed: the PxP stride-P convolution of timm's PatchEmbed, flattened to tokens:
// out[b, n, d] = bias[d] + sum_{c, ky, kx} w[d, c, ky, kx] * img[b, c, gy*P + ky, gx*P + kx],
// with patch n = gy * grid_w + gx in row-major order. One invocation computes one output element.

struct Params { batch: u32, channels: u32, height: u32, width: u32, patch_size: u32, dim: u32, grid_w: u32, patches: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> img: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.batch * p.patches * p.dim) {
    return;
  }
  let d = idx % p.dim;
  let n = (idx / p.dim) % p.patches;
  let b = idx / (p.dim * p.patches);
  let y0 = (n / p.grid_w) * p.patch_size;
  let x0 = (n % p.grid_w) * p.patch_size;
  var acc = bias[d];
  for (var c = 0u; c < p.channels; c++) {
    let plane = (b * p.channels + c) * p.height;
    let wc = (d * p.channels + c) * p.patch_size * p.patch_size;
    for (var ky = 0u; ky < p.patch_size; ky++) {
      let row = (plane + y0 + ky) * p.width + x0;
      let wrow = wc + ky * p.patch_size;
      for (var kx = 0u; kx < p.patch_size; kx++) {
        acc += w[wrow + kx] * img[row + kx];
      }
    }
  }
  out[idx] = acc;
}
