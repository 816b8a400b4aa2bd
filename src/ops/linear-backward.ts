/**
 * linear-backward: the gradients of y = x.W^T + b that reconstruction needs, as strided matmuls
 * (no shader of its own): dX = dY.W and dW = dY^T.X summed over every row of the batch.
 */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { matmul } from './matmul.js';

/** dX[rows, in] = dY[rows, out] . W[out, in]. */
export function linearInputGrad(ctx: GpuContext, dy: Tensor, w: Tensor, label: string): Tensor {
  const [outFeatures, inFeatures] = w.shape;
  const rows = dy.size / outFeatures;
  const dx = ctx.empty([...dy.shape.slice(0, -1), inFeatures], label);
  matmul(ctx, {
    M: rows, N: inFeatures, K: outFeatures,
    a: { tensor: dy, rowStride: outFeatures, colStride: 1 },
    b: { tensor: w, rowStride: inFeatures, colStride: 1 },
    c: { tensor: dx, rowStride: inFeatures },
  });
  return dx;
}

/** dW[out, in] = Σ_rows dY[row, out] x[row, in]. */
export function linearWeightGrad(ctx: GpuContext, dy: Tensor, x: Tensor, outFeatures: number, label: string): Tensor {
  const rows = dy.size / outFeatures;
  const inFeatures = x.size / rows;
  const dw = ctx.empty([outFeatures, inFeatures], label);
  matmul(ctx, {
    M: outFeatures, N: inFeatures, K: rows,
    a: { tensor: dy, rowStride: 1, colStride: outFeatures },
    b: { tensor: x, rowStride: inFeatures, colStride: 1 },
    c: { tensor: dw, rowStride: inFeatures },
  });
  return dw;
}
