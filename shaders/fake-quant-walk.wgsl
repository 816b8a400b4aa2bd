// fake-quant-walk: how the element-wise fake-quant kernels (fake-quant, fake-quant-train,
// fake-quant-backward) walk their 4-D view, appended to each by the runtime (`libraries`). The
// kernel provides the view uniforms `p`, the `scale` and `zero_point` bindings, the override SPAN
// (1, 2 or 4 elements per invocation along i3) and `element(at, idx, s, z)`, which handles the
// element at address `at` with flat view index `idx`, scale s and rounded zero-point z. SPAN
// elements share the index arithmetic and, where the scale and zero-point do not vary along i3,
// their loads. Not a kernel of its own.

// The invocation's elements, from flat view index `first` (a multiple of SPAN).
fn walk_view(first: u32) {
  if (first >= p.n0 * p.n1 * p.n2 * p.n3) {
    return;
  }
  let idx = first;
  let i3 = idx % p.n3;
  let i2 = (idx / p.n3) % p.n2;
  let i1 = (idx / (p.n3 * p.n2)) % p.n1;
  let i0 = idx / (p.n3 * p.n2 * p.n1);
  let at = p.offset + i0 * p.a0 + i1 * p.a1 + i2 * p.a2 + i3 * p.a3;
  let si = i0 * p.s0 + i1 * p.s1 + i2 * p.s2 + i3 * p.s3;
  let zi = i0 * p.z0 + i1 * p.z1 + i2 * p.z2 + i3 * p.z3;
  let s = scale[si];
  let z = round(zero_point[zi]);
  element(at, idx, s, z);
  if (SPAN == 1u) {
    return;
  }
  if (p.s3 == 0u && p.z3 == 0u) {
    element(at + p.a3, idx + 1u, s, z);
    if (SPAN == 4u) {
      element(at + 2u * p.a3, idx + 2u, s, z);
      element(at + 3u * p.a3, idx + 3u, s, z);
    }
  } else {
    for (var j = 1u; j < SPAN; j++) {
      element(at + j * p.a3, idx + j, scale[si + j * p.s3], round(zero_point[zi + j * p.z3]));
    }
  }
}
