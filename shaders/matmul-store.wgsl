// matmul-store: how matmul and matmul-texture write four columns of a row of C, shared so that both
// products finish alike: rows past M and columns past N skipped, alpha applied, then the bias. Not
// a kernel of its own: it uses the including kernel's `p` (M, N, c_rs, alpha), HAS_BIAS, `bias` and `c`.

fn store4(base: u32, m: u32, n0: u32, v: vec4<f32>) {
  if (m >= p.M) {
    return;
  }
  for (var j = 0u; j < 4u; j++) {
    let n = n0 + j;
    if (n < p.N) {
      var out = p.alpha * v[j];
      if (HAS_BIAS) {
        out += bias[n];
      }
      c[base + m * p.c_rs + n] = out;
    }
  }
}
