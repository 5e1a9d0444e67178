import { jsonLogLine, OWN_LINE_START } from '../json-log.js';
import type { ResolvedOptions } from '../options.js';

const NEWLINE = 0x0a;
const OWN = Buffer.from(OWN_LINE_START);

/**
 * What a source of an OutputRelay passes on, rewritten: `text` is whole lines, each with its
 * newline, but for a piece of a line longer than MAX_WHOLE_LINE_BYTES, which lacks it;
 * `midLine` says `text` begins in the middle of a line whose start was passed on before.
 */
export type LineFormat = (text: Buffer, midLine: boolean) => Buffer;

/** The worker and stream whose output a format is for. */
export interface OutputSource {
  readonly id: number;
  readonly slot: number;
  readonly pid: number;
  readonly stream: 'stdout' | 'stderr';
}

/**
 * How a worker's output reaches `to`, the primary's stream of the same name: undefined to
 * pass it on as it is. A prefix (`[w3 s1] `) where logPrefix says so; 'auto' puts it on a
 * terminal only, so that what goes to a pipe or a file stays as the app wrote it. With
 * logFormat 'json', a prefix is a JSON object for each line, and clusterize's own lines
 * (a worker's runtime writes some to its stderr) are JSON as the primary's are.
 */
export function workerLineFormat(options: Pick<ResolvedOptions, 'logPrefix' | 'logFormat'>, to: { readonly isTTY?: boolean }, source: OutputSource): LineFormat | undefined {
  const json = options.logFormat === 'json';
  const prefix = options.logPrefix === 'auto' ? !json && to.isTTY === true : options.logPrefix;
  if (json) return prefix ? wrapLines(source) : source.stream === 'stderr' ? ownLinesAsJson(source.pid) : undefined;
  return prefix ? prefixLines(Buffer.from(`[w${source.id} s${source.slot}] `)) : undefined;
}

/** The lines of `text`, each with its newline (the last may lack one). */
function* linesOf(text: Buffer): Generator<Buffer> {
  for (let start = 0; start < text.length;) {
    const end = text.indexOf(NEWLINE, start);
    const next = end === -1 ? text.length : end + 1;
    yield text.subarray(start, next);
    start = next;
  }
}

/** `prefix` before each line that starts in `text`. */
export function prefixLines(prefix: Buffer): LineFormat {
  return (text, midLine) => {
    const parts: Buffer[] = [];
    for (const line of linesOf(text)) {
      if (parts.length > 0 || !midLine) parts.push(prefix);
      parts.push(line);
    }
    return Buffer.concat(parts);
  };
}

/**
 * Each line a JSON object: `{ time, worker, slot, pid, stream, line }`, and `partial: true`
 * on a piece of an over-long line whose rest comes in the next one.
 */
function wrapLines({ id, slot, pid, stream }: OutputSource): LineFormat {
  return (text, midLine) => {
    let out = '';
    for (const line of linesOf(text)) {
      const ends = line[line.length - 1] === NEWLINE;
      const content = line.toString('utf8', 0, ends ? line.length - 1 : line.length);
      const own = stream === 'stderr' && content.startsWith(OWN_LINE_START) && !(midLine && out === '');
      out += own ? jsonLogLine(content, pid) : JSON.stringify({ time: new Date().toISOString(), worker: id, slot, pid, stream, line: content, ...(!ends && { partial: true }) });
      out += '\n';
    }
    return Buffer.from(out);
  };
}

/** clusterize's own lines in JSON (jsonLogLine); the app's lines as they are, untouched unless `text` has one of those. */
function ownLinesAsJson(pid: number): LineFormat {
  return (text, midLine) => {
    if (text.indexOf(OWN) === -1) return text;
    const parts: Buffer[] = [];
    for (const line of linesOf(text)) {
      const own = line.subarray(0, OWN.length).equals(OWN) && !(midLine && parts.length === 0) && line[line.length - 1] === NEWLINE;
      parts.push(own ? Buffer.from(`${jsonLogLine(line.toString('utf8', 0, line.length - 1), pid)}\n`) : line);
    }
    return Buffer.concat(parts);
  };
}
