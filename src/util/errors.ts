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
