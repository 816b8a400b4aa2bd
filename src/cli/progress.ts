/**
 * Progress on stderr: a one-line bar redrawn in place on a terminal; elsewhere (logs, pipes) a
 * plain line whenever the stage text changes, and at least every 30 seconds, so long runs stay
 * observable without flooding.
 */
export class Progress {
  private readonly start = performance.now();
  private last = 0;
  private lastExtra = '';
  constructor(private readonly label: string, private readonly tty = Boolean(process.stderr.isTTY)) {}

  update(done: number, total: number, extra = ''): void {
    const now = performance.now();
    if (!this.tty) {
      if ((extra && extra !== this.lastExtra) || now - this.last >= 30_000 || (done >= total && this.last > 0)) {
        this.lastExtra = extra;
        this.last = now;
        process.stderr.write(`${this.label}: ${extra ? `${extra} ` : ''}(${done}/${total}, ${((now - this.start) / 1000).toFixed(1)} s)\n`);
      }
      return;
    }
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
