/**
 * An error caused by the user's input or environment (a bad file, a missing folder, no adapter).
 * The CLI prints its message as one line, without a stack trace; anything else is a bug.
 */
export class FimaqError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FimaqError';
  }
}

/**
 * The GPU device went away (a driver reset, a laptop GPU switched off, a tab's device destroyed).
 * Work recorded so far is lost; `resumable` says whether a checkpoint lets the run continue.
 */
export class DeviceLostError extends FimaqError {
  constructor(message: string, readonly resumable = false) {
    super(message);
    this.name = 'DeviceLostError';
  }
}

/** An allocation the adapter could not make: its message gives the size and the adapter's limits. */
export class GpuMemoryError extends FimaqError {
  constructor(message: string) {
    super(message);
    this.name = 'GpuMemoryError';
  }
}
