/** How long a kind of line stays quiet after it was logged; its summary says "in the last second". */
const WINDOW_MS = 1000;

interface Window {
  suppressed: number;
}

/**
 * One source's warnings (one worker's bad messages), at most one line per kind per second:
 * the first line of a kind goes out at once, the rest are counted, and the window ends with
 * one line that gives the count. A worker flooding the channel with forged messages costs
 * the primary a few lines a second instead of one line per message.
 */
export class RateLimitedLog {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly log: (line: string) => void) {}

  /** Logs `line()` unless a `kind` line went out in this window; then `summary(count)` when it ends. */
  write(kind: string, line: () => string, summary: (count: number) => string): void {
    const window = this.windows.get(kind);
    if (window !== undefined) {
      window.suppressed++;
      return;
    }
    this.log(line());
    this.open(kind, summary);
  }

  private open(kind: string, summary: (count: number) => string): void {
    const window: Window = { suppressed: 0 };
    this.windows.set(kind, window);
    // Unref'd: a pending summary never keeps the primary alive; it also outlives its worker,
    // so the messages a worker sent just before it exited are still counted.
    setTimeout(() => {
      this.windows.delete(kind);
      if (window.suppressed === 0) return;
      this.log(summary(window.suppressed));
      // Still flooding: the next window counts on, one line a second.
      this.open(kind, summary);
    }, WINDOW_MS).unref();
  }
}
