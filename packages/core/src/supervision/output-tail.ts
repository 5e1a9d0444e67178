import { fileURLToPath, pathToFileURL } from 'node:url';

/** Lines kept: twice what a report shows, as a report leaves out clusterize's own stack frames. */
const KEEP_LINES = 40;
const KEEP_LINE_CHARS = 500;
/** The longest error line a one-line report quotes. */
const ERROR_LINE_CHARS = 200;
/** Enough bytes for KEEP_LINE_CHARS characters of UTF-8. */
const KEEP_LINE_BYTES = KEEP_LINE_CHARS * 4;
const NEWLINE = 0x0a;

/**
 * This package's folder (from dist/supervision/ or src/supervision/), as a path and as a
 * file: URL: how stack frames and Node's source-line headers name clusterize's own files.
 */
const OWN_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OWN_ROOTS = [OWN_ROOT, pathToFileURL(OWN_ROOT).href];
const OWN_LOCATION = /:\d+$/;
const CARET = /^\s*\^+\s*$/;
const STACK_FRAME = /^\s+at /;
/** The first line of an error as Node.js prints it: `Error: ...`, `TypeError: ...`, `Error [ERR_X]: ...`. */
const ERROR_LINE = /^(?:[A-Z][A-Za-z]*)?(?:Error|Exception)(?: \[[A-Z0-9_]+\])?: /;

/**
 * Keeps the last lines a worker printed, so that a worker that fails at start-up can be
 * reported with them. It sees every chunk of the worker's output (see OutputRelay), so a
 * chunk is decoded no further back than the lines it can keep, and a line no further than
 * the characters kept of it.
 */
export class OutputTail {
  private lines: string[] = [];
  private partial = '';

  /**
   * Its last `count` lines, without clusterize's own stack frames (an app's error that the
   * runtime delivered, such as a listen error, has a stack through it): they are no help to
   * a user reading why the app failed.
   */
  last(count = KEEP_LINES): string[] {
    const all = this.partial === '' ? this.lines : [...this.lines, this.partial];
    return withoutOwnFrames(all).slice(-count);
  }

  /** The first line of the first error Node.js printed in the lines kept (an uncaught exception's), shortened. */
  firstError(): string | undefined {
    const line = this.last().find((text) => ERROR_LINE.test(text));
    return line === undefined || line.length <= ERROR_LINE_CHARS ? line : `${line.slice(0, ERROR_LINE_CHARS - 3)}...`;
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

/** `lines` without stack frames in clusterize's files, nor Node's header naming one where an exception was thrown (file:line, the source line, a caret). */
function withoutOwnFrames(lines: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const trimmed = line.trim();
    const own = OWN_ROOTS.some((root) => line.includes(root));
    if (own && STACK_FRAME.test(line)) continue;
    if (own && OWN_ROOTS.some((root) => trimmed.startsWith(root)) && OWN_LOCATION.test(trimmed)) {
      if (CARET.test(lines[i + 2] ?? '')) i += 2;
      continue;
    }
    kept.push(line);
  }
  return kept;
}
