const KEEP_LINES = 20;
const KEEP_LINE_CHARS = 500;
/** Enough bytes for KEEP_LINE_CHARS characters of UTF-8. */
const KEEP_LINE_BYTES = KEEP_LINE_CHARS * 4;
const NEWLINE = 0x0a;

/**
 * Keeps the last lines a worker printed, so that a worker that fails at start-up can be
 * reported with them. It sees every chunk of the worker's output (see OutputRelay), so a
 * chunk is decoded no further back than the lines it can keep, and a line no further than
 * the characters kept of it.
 */
export class OutputTail {
  private lines: string[] = [];
  private partial = '';

  last(count = KEEP_LINES): string[] {
    const all = this.partial === '' ? this.lines : [...this.lines, this.partial];
    return all.slice(-count);
  }

  record(chunk: Buffer): void {
    let from = this.keptFrom(chunk);
    for (;;) {
      const end = chunk.indexOf(NEWLINE, from);
      const stop = end === -1 ? chunk.length : end;
      if (this.partial.length < KEEP_LINE_CHARS) {
        this.partial = (this.partial + chunk.toString('utf8', from, Math.min(stop, from + KEEP_LINE_BYTES))).slice(0, KEEP_LINE_CHARS);
      }
      if (end === -1) return;
      this.lines.push(this.partial);
      if (this.lines.length > KEEP_LINES) this.lines.shift();
      this.partial = '';
      from = end + 1;
    }
  }

  /**
   * Where the lines of `chunk` that can be kept begin: after its (KEEP_LINES + 1)th newline
   * from the end, when it has that many, and then whatever was kept before is dropped.
   */
  private keptFrom(chunk: Buffer): number {
    let at = chunk.length;
    for (let newlines = 0; newlines <= KEEP_LINES; newlines++) {
      // A negative offset would count from the end.
      at = at === 0 ? -1 : chunk.lastIndexOf(NEWLINE, at - 1);
      if (at === -1) return 0;
    }
    this.lines = [];
    this.partial = '';
    return at + 1;
  }
}
