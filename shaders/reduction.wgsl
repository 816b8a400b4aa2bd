// reduction: the summation every reducing kernel shares (`libraries` in their descriptors), so their
// sums come out in one fixed order (bit for bit the same run to run, no atomics). Not a kernel of its own.
// - Kahan / Kahan2: compensated running sums, so an invocation's long strided sum keeps float32
//   accuracy.
// - workgroup_sum2, workgroup_sum, workgroup_max2: a tree over the workgroup (slot i adds slot
//   i + width, width halving), the result returned to every invocation. They use the kernel's
//   `override WG: u32` (a power of two) and contain barriers, so every invocation must call them,
//   from uniform control flow. One vec2 scratch serves both widths (a scalar's spare lane adds
//   zeros). On SwiftShader each workgroup that waits at a barrier costs milliseconds: kernels
//   with thousands of workgroups leave per-invocation partial sums instead (mse-loss).

struct Kahan { sum: f32, comp: f32 }

fn kahan_add(k: Kahan, v: f32) -> Kahan {
  let y = v - k.comp;
  let t = k.sum + y;
  return Kahan(t, (t - k.sum) - y);
}

struct Kahan2 { sum: vec2<f32>, comp: vec2<f32> }

fn kahan_add2(k: Kahan2, v: vec2<f32>) -> Kahan2 {
  let y = v - k.comp;
  let t = k.sum + y;
  return Kahan2(t, (t - k.sum) - y);
}

var<workgroup> reduce_scratch: array<vec2<f32>, WG>;

fn workgroup_sum2(lid: u32, v: vec2<f32>) -> vec2<f32> {
  reduce_scratch[lid] = v;
  workgroupBarrier();
  for (var width = WG / 2u; width > 0u; width /= 2u) {
    if (lid < width) {
      reduce_scratch[lid] += reduce_scratch[lid + width];
    }
    workgroupBarrier();
  }
  let total = reduce_scratch[0];
  // Every invocation reads the total before a next reduction overwrites the scratch.
  workgroupBarrier();
  return total;
}

fn workgroup_sum(lid: u32, v: f32) -> f32 {
  return workgroup_sum2(lid, vec2<f32>(v, 0.0)).x;
}

fn workgroup_max2(lid: u32, v: vec2<f32>) -> vec2<f32> {
  reduce_scratch[lid] = v;
  workgroupBarrier();
  for (var width = WG / 2u; width > 0u; width /= 2u) {
    if (lid < width) {
      reduce_scratch[lid] = max(reduce_scratch[lid], reduce_scratch[lid + width]);
    }
    workgroupBarrier();
  }
  let total = reduce_scratch[0];
  workgroupBarrier();
  return total;
}
