import type { Readable, Writable } from 'node:stream';

const KEEP_LINES = 20;
const KEEP_LINE_CHARS = 500;

/**
 * Passes a worker's output through to the primary's and keeps its last lines, so a worker
 * that fails at start-up can be reported with what it printed.
 */
export class OutputTail {
  private readonly lines: string[] = [];
  private partial = '';

  /** A spawn that failed has no streams (`undefined`, not `null`): nothing to pipe then. */
  pipe(from: Readable | null | undefined, to: Writable): void {
    if (from === null || from === undefined) return;
    from.on('data', (chunk: Buffer) => {
      to.write(chunk);
      this.record(chunk.toString('utf8'));
    });
  }

  last(count = KEEP_LINES): string[] {
    const all = this.partial === '' ? this.lines : [...this.lines, this.partial];
    return all.slice(-count);
  }

  private record(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = (parts.pop() ?? '').slice(0, KEEP_LINE_CHARS);
    for (const line of parts) {
      this.lines.push(line.slice(0, KEEP_LINE_CHARS));
      if (this.lines.length > KEEP_LINES) this.lines.shift();
    }
  }
}
