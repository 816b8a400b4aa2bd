/**
 * KL(softmax(p) || softmax(q)) of two logit rows, in nats, in float64, with engine-independent
 * exp and log (det-math.ts): the head's error is recorded in quantized files.
 */
import { detExp, detLog } from './det-math.js';

export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  const logSumExp = (x: ArrayLike<number>) => {
    let m = -Infinity;
    for (let c = 0; c < x.length; c++) m = Math.max(m, x[c]);
    let sum = 0;
    for (let c = 0; c < x.length; c++) sum += detExp(x[c] - m);
    return m + detLog(sum);
  };
  const [lp, lq] = [logSumExp(p), logSumExp(q)];
  let kl = 0;
  for (let c = 0; c < p.length; c++) kl += detExp(p[c] - lp) * (p[c] - lp - (q[c] - lq));
  return kl;
}
