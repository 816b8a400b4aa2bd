/**
 * The dispatch census's projection half (bench/census.ts): the time of recorded work on a named
 * GPU (bench/gpus.json) by a roofline with an occupancy factor and a per-dispatch launch overhead.
 * Pure: no GPU, no files beyond gpus.json.
 *
 * One dispatch takes
 *   launch + max(flops / (peak · flopEfficiency), bytes / (bandwidth · bandwidthEfficiency)) / occupancy,
 *   occupancy = min(1, workgroups / computeUnits),
 * so a dispatch of fewer workgroups than the GPU has compute units leaves the others idle. A clear
 * or copy takes launch + bytes / (bandwidth · bandwidthEfficiency).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/runtime/node-gpu.js';
import type { DispatchEntry, Phase, TransferEntry, Work } from './census-record.js';

export interface Gpu {
  name: string;
  fp32_tflops: number;
  bandwidth_gbs: number;
  compute_units: number;
  launch_us: number;
  sources: string[];
}

export interface GpuTable {
  assumptions: { flop_efficiency: number; bandwidth_efficiency: number };
  gpus: Gpu[];
}

export function loadGpus(): GpuTable {
  return JSON.parse(readFileSync(join(PACKAGE_ROOT, 'bench', 'gpus.json'), 'utf8')) as GpuTable;
}

export class Roofline {
  private readonly flopsPerSecond: number;
  private readonly bytesPerSecond: number;
  readonly launch: number;

  constructor(readonly gpu: Gpu, a: GpuTable['assumptions']) {
    this.flopsPerSecond = gpu.fp32_tflops * 1e12 * a.flop_efficiency;
    this.bytesPerSecond = gpu.bandwidth_gbs * 1e9 * a.bandwidth_efficiency;
    this.launch = gpu.launch_us * 1e-6;
  }

  /** Seconds of a dispatch's work, without its launch. */
  work(d: DispatchEntry): number {
    const occupancy = Math.min(1, d.workgroups / this.gpu.compute_units);
    return Math.max(d.flops / this.flopsPerSecond, d.bytes / this.bytesPerSecond) / occupancy;
  }

  dispatch(d: DispatchEntry): number {
    return this.launch + this.work(d);
  }

  transfer(t: TransferEntry): number {
    return this.launch + t.bytes / this.bytesPerSecond;
  }

  /** Fewer workgroups than compute units, and its work takes longer than a launch: the idle units cost real time. */
  flags(d: DispatchEntry): boolean {
    return d.workgroups < this.gpu.compute_units && this.work(d) >= this.launch;
  }

  /** Seconds of `work` (`times` over), added into `byKernel` (clears and copies as '(clear)', '(copy)'). */
  add(work: Work, times: number, byKernel: Map<string, number>): number {
    let total = 0;
    const put = (k: string, s: number) => {
      byKernel.set(k, (byKernel.get(k) ?? 0) + s * times);
      total += s * times;
    };
    for (const d of work.dispatches) put(d.kernel, this.dispatch(d));
    for (const t of work.transfers) put(`(${t.kind})`, this.transfer(t));
    return total;
  }

  /** Seconds of a phase: `repeat` times its work plus its once-only work. */
  phase(p: Phase, times = 1, byKernel = new Map<string, number>()): number {
    return this.add(p, p.repeat * times, byKernel) + (p.once ? this.add(p.once, times, byKernel) : 0);
  }
}

/** A phase of `work` done once. */
export function once(work: Work, note: string): Phase {
  return { note, repeat: 1, ...work };
}

/** Dispatches, FLOPs and bytes of a phase (its repetitions included). */
export function phaseTotals(p: Phase): { dispatches: number; flops: number; bytes: number } {
  const sum = (w: Work, times: number) => ({
    dispatches: w.dispatches.length * times,
    flops: w.dispatches.reduce((a, d) => a + d.flops, 0) * times,
    bytes: (w.dispatches.reduce((a, d) => a + d.bytes, 0) + w.transfers.reduce((a, t) => a + t.bytes, 0)) * times,
  });
  const r = sum(p, p.repeat);
  const o = p.once ? sum(p.once, 1) : { dispatches: 0, flops: 0, bytes: 0 };
  return { dispatches: r.dispatches + o.dispatches, flops: r.flops + o.flops, bytes: r.bytes + o.bytes };
}
