/**
 * The runtime's allocation counter at the peak of each phase of a quantize run, calibration (up to
 * its last progress report) and reconstruction (after it), with the estimate the run was checked
 * against. Shared by the memory-estimate test and bench/memory.ts.
 */
import { MemoryStore } from '../../src/io/run-store.js';
import type { RunMemory } from '../../src/pipeline/model-info.js';
import { type QuantizeRequest, quantizeModel } from '../../src/pipeline/quantize.js';
import type { GpuContext } from '../../src/runtime/context.js';

export async function phasePeaks(ctx: GpuContext, request: QuantizeRequest): Promise<{ calibration: number; reconstruction: number; estimate: RunMemory }> {
  ctx.trimPool();
  ctx.resetPeaks();
  let calibration = 0;
  const r = await quantizeModel(ctx, request, {
    store: new MemoryStore(),
    onProgress: (p) => {
      // Calibration's last progress report: what follows is reconstruction.
      if (p.phase === 'calibrate' && p.stage === 'done') {
        calibration = ctx.peakAllocatedBytes;
        ctx.resetPeaks();
      }
    },
  });
  return { calibration, reconstruction: ctx.peakAllocatedBytes, estimate: r.memory };
}
