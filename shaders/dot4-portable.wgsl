// dot4-portable: the polyfill of the integer kernels (int-linear, int-matmul) for devices without
// the WGSL language feature packed_4x8_integer_dot_product. It replaces their
//   fn dot4(a: u32, b: u32) -> u32 { return dot4U8Packed(a, b); }
// by the same sum written out: the four 8-bit lanes unpacked and multiplied with the core dot().
// Not a kernel of its own (src/runtime/kernel.ts, portableShaderCode).

fn dot4(a: u32, b: u32) -> u32 {
  let lanes = vec4<u32>(0u, 8u, 16u, 24u);
  return dot((vec4<u32>(a) >> lanes) & vec4<u32>(0xffu), (vec4<u32>(b) >> lanes) & vec4<u32>(0xffu));
}
