// quantize-codes: float tensor -> unsigned activation codes for the integer pipeline, packed four
// per u32 word. The input is seen through the same 4-D index view as fake-quant (sizes n*, element
// (i0..i3) at offset + Σ i_k·a_k, its scale at Σ i_k·s_k, its zero-point at Σ i_k·z_k; s3 and z3
// are ignored: the host only packs views whose scale and zero-point are constant along i3), and each
// code is computed exactly as fake-quant does: q = clamp(round(x / s) + round(z), 0, qmax) with
// round() ties to even and the same division, so (q − round(z))·s is bit for bit fake-quant's value.
// Codes are packed along the innermost view axis i3: word w of row (i0, i1, i2) holds the codes of
// i3 = 4w .. 4w+3, code 4w+l in byte l (bits [8l, 8l+8), little-endian); lanes past n3 hold 0.
// One invocation writes one whole word, at d_off + i0·d0 + i1·d1 + i2·d2 + w (words = ceil(n3/4)
// per packed row); words outside the packed rows are left as they are. qmax must be <= 255.
// With APPLY_GELU the element is first passed through GELU (gelu() from the gelu-erf library the
// runtime appends, the same function the gelu kernel uses), so the integer pipeline quantizes
// fc2's input without writing the GELU output to memory.

struct Params {
  n0: u32, n1: u32, n2: u32, n3: u32,
  offset: u32, a0: u32, a1: u32, a2: u32, a3: u32,
  s0: u32, s1: u32, s2: u32, s3: u32,
  z0: u32, z1: u32, z2: u32, z3: u32,
  qmax: f32,
  words: u32, d_off: u32, d0: u32, d1: u32, d2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> zero_point: array<f32>;
@group(0) @binding(4) var<storage, read_write> codes: array<u32>;

override WG: u32 = 256u;
override APPLY_GELU: bool = false;

// The code of element i3 of the row whose element 0 is at `at`, with scale s and zero-point z
// (already rounded); 0 past the end of the row.
fn code(at: u32, i3: u32, s: f32, z: f32) -> u32 {
  if (i3 >= p.n3) {
    return 0u;
  }
  var v = x[at + i3 * p.a3];
  if (APPLY_GELU) {
    v = gelu(v);
  }
  return u32(clamp(round(v / s) + z, 0.0, p.qmax));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.n0 * p.n1 * p.n2 * p.words) {
    return;
  }
  let w = idx % p.words;
  let i2 = (idx / p.words) % p.n2;
  let i1 = (idx / (p.words * p.n2)) % p.n1;
  let i0 = idx / (p.words * p.n2 * p.n1);
  let at = p.offset + i0 * p.a0 + i1 * p.a1 + i2 * p.a2;
  let s = scale[i0 * p.s0 + i1 * p.s1 + i2 * p.s2];
  let z = round(zero_point[i0 * p.z0 + i1 * p.z1 + i2 * p.z2]);
  // The four lanes are written out: a loop costs SwiftShader more than its body.
  let k = w * 4u;
  let word = code(at, k, s, z) | (code(at, k + 1u, s, z) << 8u) | (code(at, k + 2u, s, z) << 16u) | (code(at, k + 3u, s, z) << 24u);
  codes[p.d_off + i0 * p.d0 + i1 * p.d1 + i2 * p.d2 + w] = word;
}
