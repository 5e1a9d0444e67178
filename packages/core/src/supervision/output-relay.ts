import type { Readable, Writable } from 'node:stream';
import type { LineFormat } from './line-format.js';

/**
 * The longest line, in bytes before its newline, that reaches the primary's stdout or stderr
 * whole: no other worker's bytes land inside it. A longer line is passed on in pieces of
 * about this size as it comes, and other workers' lines may fall between the pieces.
 */
export const MAX_WHOLE_LINE_BYTES = 1024 * 1024;

/**
 * The most a source holds back (see RelayedSource) before it is written after all: a worker
 * that prints this much while it starts is better seen as it goes.
 */
export const MAX_HELD_BYTES = 64 * 1024;

/** How long the primary, before it exits, waits for its workers' last output to be written. */
const OUTPUT_FLUSH_TIMEOUT_MS = 2_000;

const NEWLINE = 0x0a;
const FLUSH_POLL_MS = 10;

/**
 * One source of a relay. Added held back, its lines wait, up to MAX_HELD_BYTES, until
 * release() writes them (and every later one as it comes) or discard() drops them (and every
 * later one): the supervisor holds back a starting worker's output until it is ready.
 */
export interface RelayedSource {
  release(): void;
  discard(): void;
}

/**
 * Relays the workers' stdout (or stderr) to the primary's, one relay per destination stream.
 *
 * Whole lines: each source's bytes after its last newline wait for the rest of their line,
 * so one worker's line is never torn by another's; the complete lines of a chunk go on in
 * one write, without a copy (a copy only joins a waiting partial line to its end, or
 * rewrites the lines with a source's format: a prefix, JSON). A
 * source that ends with a partial line gets it written with a newline added, so that the
 * next line, whoever writes it, starts on a line of its own.
 *
 * Backpressure: when the destination's write() returns false, every source feeding it is
 * paused until 'drain'. The kernel pipe of a paused worker fills and the worker waits in
 * its own write() (its output pipes block, see worker/output-pipes.ts): a chatty worker
 * goes at the pace its output is read instead of piling up in the primary. The primary
 * holds at most, per worker and stream, one partial line (MAX_WHOLE_LINE_BYTES plus one
 * read) and the stream's readable buffer (its highWaterMark, 64 KB); per destination, its
 * highWaterMark plus one write (at most MAX_WHOLE_LINE_BYTES plus one read).
 *
 * Nothing read is dropped but what a source held back is told to discard (see
 * RelayedSource): a source is read to its end whether or not its worker has exited, and
 * flushOutput() lets the primary wait, before it exits, until every source has ended and
 * the destinations have written all they were given.
 */
export class OutputRelay {
  private readonly sources = new Set<Readable>();
  private readonly taps = new Set<(data: Buffer) => void>();
  private waitingForDrain = false;

  constructor(readonly to: Writable) {
    to.on('drain', () => {
      this.waitingForDrain = false;
      for (const source of this.sources) source.resume();
    });
  }

  /** The destination is full: the sources are paused. */
  get held(): boolean {
    return this.waitingForDrain;
  }

  /** Every source has ended and the destination has written everything (or never will). */
  get flushed(): boolean {
    return this.ended && (this.to.writableLength === 0 || this.to.destroyed);
  }

  /** Every source has ended: nothing more will come from the workers. */
  get ended(): boolean {
    return this.sources.size === 0;
  }

  /**
   * Calls `copy` with what is written to the destination from now on, in the same pieces
   * (whole lines, unless a line is longer than MAX_WHOLE_LINE_BYTES), until the function it
   * returns is called. `copy` must not wait for anyone: the relay does not.
   */
  tap(copy: (data: Buffer) => void): () => void {
    this.taps.add(copy);
    return () => this.taps.delete(copy);
  }

  /**
   * Relays `from` (a spawn that failed has no streams: `undefined`) until its end, or holds
   * its lines back (`held`) until told; `seen` gets each chunk as it was read, `format`
   * (a prefix, JSON) its lines before they are written or held.
   */
  add(from: Readable | null | undefined, seen: (chunk: Buffer) => void, held = false, format?: LineFormat): RelayedSource {
    /** Lines held back (copies: a chunk's other bytes are not kept with them); 'dropped' after discard(), undefined once written as they come. */
    let holding: Buffer[] | 'dropped' | undefined = held ? [] : undefined;
    let heldBytes = 0;
    const release = () => {
      if (!Array.isArray(holding)) return;
      const lines = holding;
      holding = undefined;
      if (lines.length > 0) this.write(Buffer.concat(lines));
    };
    const discard = () => {
      if (Array.isArray(holding)) holding = 'dropped';
    };
    const pass = (lines: Buffer) => {
      if (holding === undefined) return this.write(lines);
      if (holding === 'dropped') return;
      holding.push(Buffer.from(lines));
      heldBytes += lines.length;
      if (heldBytes > MAX_HELD_BYTES) release();
    };
    if (from === null || from === undefined) return { release, discard };
    /** The last bytes passed on did not end their line (a piece of an over-long one). */
    let midLine = false;
    const passOn = (text: Buffer) => {
      pass(format === undefined ? text : format(text, midLine));
      midLine = text[text.length - 1] !== NEWLINE;
    };
    /** The line begun and not yet ended, as the chunks (or their ends) it came in. */
    let partial: Buffer[] = [];
    let partialBytes = 0;
    const takePartial = (rest?: Buffer): Buffer => {
      const parts = rest === undefined ? partial : [...partial, rest];
      const joined = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      partial = [];
      partialBytes = 0;
      return joined;
    };
    this.sources.add(from);
    if (this.waitingForDrain) from.pause();
    from.on('data', (chunk: Buffer) => {
      seen(chunk);
      const end = chunk.lastIndexOf(NEWLINE) + 1;
      if (end === 0) {
        partial.push(chunk);
        partialBytes += chunk.length;
        if (partialBytes > MAX_WHOLE_LINE_BYTES) passOn(takePartial());
        return;
      }
      const lines = end === chunk.length ? chunk : chunk.subarray(0, end);
      passOn(partialBytes === 0 ? lines : takePartial(lines));
      if (end < chunk.length) {
        partial.push(chunk.subarray(end));
        partialBytes = chunk.length - end;
      }
    });
    from.once('close', () => {
      this.sources.delete(from);
      if (partialBytes > 0) passOn(takePartial(Buffer.from('\n')));
    });
    return { release, discard };
  }

  /**
   * Pauses every source again on each full write: child_process resumes a worker's streams
   * when it exits. A destination that was destroyed (its reader is gone) will never drain:
   * what is written to it is lost, and the workers go on.
   */
  private write(data: Buffer): void {
    for (const copy of this.taps) copy(data);
    if (this.to.write(data) || this.to.destroyed) return;
    this.waitingForDrain = true;
    for (const source of this.sources) source.pause();
  }
}

const relays = new Map<Writable, OutputRelay>();

/** The relay into `to`: every worker writing to the same stream shares its backpressure. */
export function relayTo(to: Writable): OutputRelay {
  let relay = relays.get(to);
  if (relay === undefined) {
    relay = new OutputRelay(to);
    relays.set(to, relay);
  }
  return relay;
}

/** Whether the primary holds some workers' output back because its own stdout or stderr is full. */
export function outputHeldBack(): boolean {
  for (const relay of relays.values()) if (relay.held) return true;
  return false;
}

/**
 * Resolves once every worker's output has been read to its end and the primary's stdout
 * and stderr have written it (with whatever else the primary wrote to them), or after
 * `timeout` ms: a terminal that stopped reading must not hold the primary forever. For the
 * primary to call before process.exit(), which drops what its streams still queue.
 */
export function flushOutput(timeout = OUTPUT_FLUSH_TIMEOUT_MS): Promise<void> {
  return pollUntil(() => [...relays.values()].every((relay) => relay.flushed)
    && [process.stdout, process.stderr].every((stream) => stream.writableLength === 0 || stream.destroyed), timeout);
}

/** Resolves once every worker's output has been read to its end (whether or not it was written yet), or after `timeout` ms. */
export function workersOutputEnded(timeout = OUTPUT_FLUSH_TIMEOUT_MS): Promise<void> {
  return pollUntil(() => [...relays.values()].every((relay) => relay.ended), timeout);
}

async function pollUntil(done: () => boolean, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, FLUSH_POLL_MS));
}
