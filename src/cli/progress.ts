/** A one-line progress bar on stderr (only when stderr is a terminal, so logs and pipes stay clean). */
export class Progress {
  private readonly start = performance.now();
  private last = 0;
  constructor(private readonly label: string, private readonly enabled = Boolean(process.stderr.isTTY)) {}

  update(done: number, total: number, extra = ''): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (done < total && now - this.last < 100) return;
    this.last = now;
    const frac = total > 0 ? done / total : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const elapsed = (now - this.start) / 1000;
    const eta = frac > 0 ? elapsed / frac - elapsed : 0;
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    process.stderr.write(`\r${this.label} [${bar}] ${done}/${total} ${elapsed.toFixed(0)}s eta ${eta.toFixed(0)}s ${extra}\x1b[K`);
    if (done >= total) process.stderr.write('\n');
  }
}
