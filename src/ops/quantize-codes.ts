/**
 * quantize-codes: float tensor -> unsigned activation codes (the codes fake-quant rounds to),
 * packed four per u32 word along the innermost view axis. The integer pipeline's operand format.
 */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { DEFAULT_FLOPS_PER_ELEMENT, gridFor, type KernelDescriptor } from '../runtime/kernel.js';
import { viewUniformFields, viewUniforms, type QuantView } from './fake-quant.js';

export const quantizeCodesKernel: KernelDescriptor = {
  name: 'quantize-codes',
  entryPoint: 'main',
  storage: [
    { name: 'x', access: 'read' },
    { name: 'scale', access: 'read' },
    { name: 'zero_point', access: 'read' },
    { name: 'codes', access: 'read_write' },
  ],
  uniforms: [...viewUniformFields(), ...['words', 'd_off', 'd0', 'd1', 'd2'].map((name) => ({ name, type: 'u32' as const }))],
  overrides: { WG: 256, APPLY_GELU: 0 },
  // The view's floats read once, their packed words written once, plus scale and zero-point.
  cost: ({ uniforms: u, bufferBytes }) => {
    const n = u.n0 * u.n1 * u.n2 * u.n3;
    return { flops: DEFAULT_FLOPS_PER_ELEMENT * n, bytes: 4 * n + 4 * u.n0 * u.n1 * u.n2 * u.words + bufferBytes[1] + bufferBytes[2] };
  },
  libraries: ['gelu-erf'],
};

/** Codes per u32 word. */
export const CODES_PER_WORD = 4;

/** Words in a packed row of `count` codes: ceil(count / 4). */
export const wordsFor = (count: number): number => Math.ceil(count / CODES_PER_WORD);

/**
 * Where packed codes go: the word of view row (i0, i1, i2) and word index w is
 * offset + i0·strides[0] + i1·strides[1] + i2·strides[2] + w.
 */
export interface PackedDestination {
  tensor: Tensor;
  offset?: number;
  strides: [number, number, number];
}

/**
 * A quantizer view whose axis 3 is the packing (reduction) axis, with the shape and strides of a
 * dense u32 tensor that holds its packed codes (see src/quant/views.ts for the model's layouts).
 */
export interface CodeLayout {
  view: QuantView;
  /** Shape of the packed u32 tensor; its last dimension is ceil(view.sizes[3] / 4). */
  shape: number[];
  strides: [number, number, number];
}

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) throw new Error(`quantize-codes: ${bits} bits do not fit a byte code`);
}

/**
 * Records the packed codes of x[view] into dst; other words of dst are left as they are. The
 * scale and zero-point must not vary along the packed axis: an integer product over that axis
 * can only take them out of its sum if they are the same for every term.
 */
export function quantizeCodesInto(
  ctx: GpuContext,
  x: Tensor,
  scale: Tensor,
  zeroPoint: Tensor,
  bits: number,
  view: QuantView,
  dst: PackedDestination,
  options: { gelu?: boolean } = {},
): void {
  checkBits(bits);
  const [n0, n1, n2, n3] = view.sizes;
  if (n3 > 1 && (view.scale[3] !== 0 || view.zeroPoint[3] !== 0)) {
    throw new Error(`quantize-codes: the scale or zero-point varies along the packed axis (strides ${view.scale[3]}, ${view.zeroPoint[3]})`);
  }
  const words = wordsFor(n3);
  const rows = n0 * n1 * n2;
  if (rows === 0 || n3 === 0) return;
  const [d0, d1, d2] = dst.strides;
  ctx.dispatch(
    quantizeCodesKernel,
    { ...viewUniforms(view, bits), words, d_off: dst.offset ?? 0, d0, d1, d2 },
    [x, scale, zeroPoint, dst.tensor],
    gridFor(rows * words, quantizeCodesKernel.overrides.WG),
    { APPLY_GELU: options.gelu ? 1 : 0 },
  );
}

/** Allocates a u32 tensor of layout.shape and records the packed codes of x (or of GELU(x)) into it. */
export function quantizeCodes(
  ctx: GpuContext,
  x: Tensor,
  scale: Tensor,
  zeroPoint: Tensor,
  bits: number,
  layout: CodeLayout,
  label: string,
  options: { gelu?: boolean } = {},
): Tensor {
  const out = ctx.empty(layout.shape, label, 'u32');
  quantizeCodesInto(ctx, x, scale, zeroPoint, bits, layout.view, { tensor: out, strides: layout.strides }, options);
  return out;
}
