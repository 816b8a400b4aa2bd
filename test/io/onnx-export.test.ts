/**
 * The ONNX export run by onnxruntime-node (CPU EP) against the float64 reference forward.
 * The protobuf encoder and the 4-bit codes are also checked on their own, without onnxruntime.
 */
import { describe, expect, it } from 'vitest';
import { ProtoWriter, int4DequantizedCheckpoint, linearWeightShapes, quantizeInt4Blocks, vitToOnnx } from '../../src/io/onnx-export.js';
import { uniformTensor } from '../../src/util/prng.js';
import { expectClose } from '../helpers/gpu.js';
import { randomVitCheckpoint } from '../helpers/random-vit.js';
import { vitForwardRef } from '../reference/vit.js';

type Ort = typeof import('onnxruntime-node');
let ort: Ort | null = null;
let loadError = '';
try {
  ort = await import('onnxruntime-node');
} catch (e) {
  loadError = (e as Error).message.split('\n')[0]!;
  console.warn(`onnx-export: skipping the onnxruntime checks: onnxruntime-node cannot be loaded (${loadError})`);
}

// Widths that are not multiples of the 32-wide blocks: K = 48 (patches), 40 (qkv, proj, fc1, head), 80 (fc2).
const CONFIG = JSON.stringify({
  architecture: 'vit_tiny_patch4_12',
  model_args: { img_size: 12, patch_size: 4, in_chans: 3, embed_dim: 40, depth: 2, num_heads: 4, num_classes: 10, mlp_ratio: 2 },
});

describe('protobuf encoding', () => {
  it('writes varints, negative int64s, floats and length-delimited fields', () => {
    expect([...new ProtoWriter().varint(0).varint(1).varint(300).finish()]).toEqual([0, 1, 0xac, 0x02]);
    expect([...new ProtoWriter().varint(2 ** 35).finish()]).toEqual([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
    expect([...new ProtoWriter().varint(-1).finish()]).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect([...new ProtoWriter().int(3, -2).finish()]).toEqual([0x18, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect([...new ProtoWriter().float(2, 1).finish()]).toEqual([0x15, 0x00, 0x00, 0x80, 0x3f]);
    expect([...new ProtoWriter().string(4, 'Add').finish()]).toEqual([0x22, 3, 0x41, 0x64, 0x64]);
    expect([...new ProtoWriter().packedInts(1, [3, 270]).finish()]).toEqual([0x0a, 3, 3, 0x8e, 0x02]);
  });
});

describe('4-bit block codes', () => {
  it('pack two codes per byte, low nibble first, and dequantize within half a step', () => {
    const rows = 5;
    const cols = 40; // one full block of 32 and a padded one of 8
    const w = uniformTensor(2, 0, rows * cols, 0, 1);
    for (const symmetric of [false, true]) {
      const q = quantizeInt4Blocks(w, rows, cols, 32, symmetric);
      expect(q.packed.length).toBe(rows * 2 * 16);
      expect(q.scales.length).toBe(rows * 2);
      expect(q.zeroPoints?.length).toBe(symmetric ? undefined : rows);
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < cols; c++) {
          const b = c >> 5;
          const j = c & 31;
          const byte = q.packed[(r * 2 + b) * 16 + (j >> 1)]!;
          const code = (byte >> (4 * (j & 1))) & 15;
          const zp = q.zeroPoints ? (q.zeroPoints[r]! >> (4 * b)) & 15 : 8;
          const s = q.scales[r * 2 + b]!;
          expect(q.dequantized[r * cols + c]).toBe(Math.fround((code - zp) * s));
          expect(Math.abs(q.dequantized[r * cols + c]! - w[r * cols + c]!)).toBeLessThanOrEqual(s / 2 + 1e-7);
        }
      // Padding codes of the partial block equal the zero point.
      const pad = q.packed[(0 * 2 + 1) * 16 + 8]!;
      const zp1 = q.zeroPoints ? (q.zeroPoints[0]! >> 4) & 15 : 8;
      expect(pad).toBe(zp1 | (zp1 << 4));
    }
  });
});

describe.skipIf(ort === null)('onnxruntime-node runs the export', () => {
  const ckpt = randomVitCheckpoint(CONFIG, 21);
  const c = ckpt.config;
  const batch = 3;
  const images = uniformTensor(22, 0, batch * c.inChans * c.imgSize * c.imgSize, 0, 1.5);
  const shape = [batch, c.inChans, c.imgSize, c.imgSize];

  async function run(model: Uint8Array, n: number): Promise<Float32Array> {
    const session = await ort!.InferenceSession.create(model, { executionProviders: ['cpu'] });
    const size = c.inChans * c.imgSize * c.imgSize;
    const out = await session.run({ images: new ort!.Tensor('float32', images.slice(0, n * size), [n, ...shape.slice(1)]) });
    await session.release();
    expect(out.logits!.dims).toEqual([n, c.numClasses]);
    return out.logits!.data as Float32Array;
  }

  /** |got - ref| <= 1e-4·|ref| + 1e-4·max|ref|: 1e-4 relative, measured against the logit scale near zero. */
  function expectRelative(got: Float32Array, ref: Float64Array, rtol: number, what: string): void {
    const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expectClose(got, ref, rtol * scale, rtol, what);
  }

  it('float export: logits equal the float64 reference within 1e-4 relative, for any batch', async () => {
    const model = vitToOnnx(ckpt);
    const ref = vitForwardRef(ckpt, images, batch);
    expectRelative(await run(model, batch), ref, 1e-4, 'float logits, batch 3');
    expectRelative(await run(model, 1), ref.slice(0, c.numClasses), 1e-4, 'float logits, batch 1');
  });

  for (const symmetric of [false, true]) {
    it(`MatMulNBits export (${symmetric ? 'symmetric' : 'zero points'}): logits equal the reference with the dequantized int4 weights within 1e-4 relative`, async () => {
      const model = vitToOnnx(ckpt, { weights: 'int4', blockSize: 32, symmetric });
      const deq = int4DequantizedCheckpoint(ckpt, 32, symmetric);
      const ref = vitForwardRef(deq, images, batch);
      expectRelative(await run(model, batch), ref, 1e-4, 'int4 logits');
      // Every linear weight really is quantized: the float reference is far away.
      for (const name of linearWeightShapes(ckpt).keys()) expect(deq.weights.get(name)).not.toEqual(ckpt.weights.get(name));
      const floatRef = vitForwardRef(ckpt, images, batch);
      const gap = floatRef.reduce((m, v, i) => Math.max(m, Math.abs(v - ref[i]!)), 0);
      expect(gap).toBeGreaterThan(1e-2);
      // 4-bit weights take about an eighth of the float export.
      expect(model.length).toBeLessThan(vitToOnnx(ckpt).length / 2);
    });
  }
});
