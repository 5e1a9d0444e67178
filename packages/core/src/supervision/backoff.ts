/**
 * Delay before replacing a crashed worker: doubles with each crash in a row, so a crash
 * loop neither spins the CPU nor floods the log, and resets once a worker has stayed
 * ready for `stableAfter` milliseconds.
 */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly first: number,
    private readonly max: number,
    readonly stableAfter = 10_000,
  ) {}

  /** Records a crash of a worker that was ready for `readyFor` ms (or never) and returns the delay. */
  next(readyFor: number | undefined): number {
    this.failures = readyFor !== undefined && readyFor >= this.stableAfter ? 1 : this.failures + 1;
    return Math.min(this.max, this.first * 2 ** (this.failures - 1));
  }

  get crashesInARow(): number {
    return this.failures;
  }
}
