// The primary relays its workers' output: whole lines, never one worker's bytes inside
// another's line; at the pace its own stdout is read, holding the workers back instead of
// buffering; and to the last line a worker wrote before it exited.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, fixture, isAlive, request, until } from './helpers.ts';
import { watchOutput } from './internal-errors.ts';

const MB = 1024 * 1024;

interface Cli {
  child: ChildProcess;
  /** Every line the CLI printed on stderr so far (the primary's log and the workers' stderr). */
  stderrLines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first stderr line matching `pattern`; rejects after `ms` or once the CLI has exited without one. */
  line(pattern: RegExp, ms?: number): Promise<RegExpExecArray>;
}

let cli: Cli | undefined;
afterEach(async () => {
  if (cli !== undefined && cli.child.exitCode === null && cli.child.signalCode === null) {
    cli.child.stdout!.resume();
    cli.child.kill('SIGKILL');
    await cli.exited;
  }
  cli = undefined;
});

/**
 * Runs the CLI with its stdout handed to `stdout` chunk by chunk (tens or hundreds of MB:
 * never collected as one string) and its stderr kept as lines.
 */
function runCli(args: string[], env: Record<string, string>, stdout: (chunk: Buffer) => void): Cli {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderrLines: string[] = [];
  let partial = '';
  watchOutput(`clusterize ${args.join(' ')} (pid ${child.pid}), standard error`, () => stderrLines.map((line) => `${line}\n`).join('') + partial);
  child.stdout!.on('data', stdout);
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    stderrLines.push(...lines);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close': both pipes read to their end.
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const line = async (pattern: RegExp, ms = 15_000) => {
    let found: RegExpExecArray | null = null;
    let from = 0;
    await until(() => {
      for (; from < stderrLines.length && found === null; from++) found = pattern.exec(stderrLines[from]!);
      if (found === null && child.exitCode !== null) throw new Error(`the CLI exited without printing ${pattern}:\n${stderrLines.slice(-20).join('\n')}`);
      return found !== null;
    }, ms, `a line matching ${pattern}`);
    return found!;
  };
  cli = { child, stderrLines, exited, line };
  return cli;
}

/** The primary's resident memory in bytes, from /proc/<pid>/status. */
function rss(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

/** What the process's main thread waits on in the kernel: `0` while it runs, '' once it is gone. */
function wchan(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/wchan`, 'utf8');
  } catch {
    return '';
  }
}

describe('whole lines', () => {
  it('4 workers writing lines of 232 B to 1 MB at once: every line arrives whole, once, in its worker\'s order', async () => {
    // Per worker: 2 x 1 MB (MAX_WHOLE_LINE_BYTES, the longest line kept whole), 10 x 100 KB,
    // 30 x 64 KB, 8,000 x 232 B, shuffled: about 7 MB each, 27 MB in all.
    const counts: Record<number, number> = { [MB]: 2, [100 * 1024]: 10, [64 * 1024]: 30, 232: 8_000 };
    const perWorker = Object.values(counts).reduce((sum, count) => sum + count, 0);
    const chunks: Buffer[] = [];
    const run = runCli(['--workers', '4', fixture('output-lines.mjs')], { LINE_COUNTS: JSON.stringify(counts) }, (chunk) => chunks.push(chunk));
    for (let id = 1; id <= 4; id++) await run.line(new RegExp(`^output-lines: worker ${id} wrote ${perWorker} lines$`), 20_000);
    // Everything was written before the drain: the stop must not lose any of it.
    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });

    const lines = Buffer.concat(chunks).toString('latin1').split('\n');
    const unterminated = lines.pop()!.length;
    const next = new Map<number, number>([[1, 0], [2, 0], [3, 0], [4, 0]]);
    let torn = 0;
    let outOfOrder = 0;
    for (const line of lines) {
      const [id, seq, length] = line.split(' ', 3).map(Number) as [number, number, number];
      const head = `${id} ${seq} ${length} `;
      const fill = String.fromCharCode(97 + (id * 31 + seq) % 26);
      if (!next.has(id) || line !== head + fill.repeat(length - head.length)) torn++;
      else if (next.get(id) !== seq) outOfOrder++;
      else next.set(id, seq + 1);
    }
    expect({ torn, outOfOrder, unterminated, lines: lines.length, complete: [...next.values()] })
      .toEqual({ torn: 0, outOfOrder: 0, unterminated: 0, lines: 4 * perWorker, complete: [perWorker, perWorker, perWorker, perWorker] });
  }, 30_000);
});

describe('whole lines with --log-prefix', () => {
  it('4 workers writing 20 lines of 1 MB and 2,000 short ones each at once, through a pipe: every line arrives whole, once, after its own worker\'s prefix', async () => {
    const counts: Record<number, number> = { [MB]: 20, 100: 2_000 };
    const perWorker = 20 + 2_000;
    const chunks: Buffer[] = [];
    const run = runCli(['--workers', '4', '--log-prefix', fixture('output-lines.mjs')], { LINE_COUNTS: JSON.stringify(counts) }, (chunk) => chunks.push(chunk));
    for (let id = 1; id <= 4; id++) await run.line(new RegExp(`^\\[w${id} s[0-3]\\] output-lines: worker ${id} wrote ${perWorker} lines$`), 30_000);
    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });

    const lines = Buffer.concat(chunks).toString('latin1').split('\n');
    const unterminated = lines.pop()!.length;
    const slots = new Map<number, string>();
    const next = new Map<number, number>([[1, 0], [2, 0], [3, 0], [4, 0]]);
    let torn = 0;
    let megabyteLines = 0;
    for (const line of lines) {
      const [, prefixId, slot, text = ''] = /^\[w(\d+) s(\d+)\] (.*)$/s.exec(line) ?? [];
      const [id, seq, length] = text.split(' ', 3).map(Number) as [number, number, number];
      const head = `${id} ${seq} ${length} `;
      const fill = String.fromCharCode(97 + (id * 31 + seq) % 26);
      const whole = Number(prefixId) === id && next.get(id) === seq && text === head + fill.repeat(length - head.length);
      if (!whole || (slots.get(id) ?? slot) !== slot) torn++;
      else {
        slots.set(id, slot!);
        next.set(id, seq + 1);
        if (length === MB) megabyteLines++;
      }
    }
    expect({ torn, unterminated, lines: lines.length, megabyteLines, complete: [...next.values()], slots: new Set(slots.values()).size })
      .toEqual({ torn: 0, unterminated: 0, lines: 4 * perWorker, megabyteLines: 80, complete: [perWorker, perWorker, perWorker, perWorker], slots: 4 });
  }, 60_000);
});

describe('backpressure', () => {
  it('a worker flooding 400 MB while nobody reads the primary\'s stdout is held back; the primary does not buffer it, and every byte arrives later', async () => {
    let received = 0;
    const run = runCli(['--workers', '1', fixture('output-flood.mjs')], {}, (chunk) => { received += chunk.length; });
    const port = Number((await run.line(/1 worker ready on 127\.0\.0\.1:(\d+)$/))[1]);
    const primary = run.child.pid!;
    const before = rss(primary);

    run.child.stdout!.pause();
    const worker = Number(/pid (\d+)/.exec((await request(port, '/flood?mb=400')).body)![1]);
    // Until the worker sits in write(2) on its full pipe (libuv makes a child's 'pipe' of a
    // Unix socket) while the primary idles: it has stopped reading, the worker is held
    // back. Or until the primary has taken in far more than the relay may hold.
    let most = before;
    let heldFor = 0;
    await until(() => {
      most = Math.max(most, rss(primary));
      const held = /pipe_write|sock_alloc_send/.test(wchan(worker)) && /epoll_wait/.test(wchan(primary));
      heldFor = held ? heldFor + 1 : 0;
      return heldFor >= 5 || most - before > 100 * MB;
    }, 15_000, 'the worker being held back');
    most = Math.max(most, rss(primary));
    // The relay holds per worker and stream at most one partial line (1 MB) and a read
    // buffer, plus one write past its destination's high-water mark: a few MB. 100 MB leaves
    // the rest to V8 and the allocator, and is a quarter of the flood.
    expect(most - before).toBeLessThan(100 * MB);
    expect(run.stderrLines.some((line) => line.startsWith('output-flood: wrote'))).toBe(false);

    run.child.stdout!.resume();
    const wrote = Number((await run.line(/^output-flood: wrote (\d+) bytes/, 20_000))[1]);
    await until(() => received >= wrote, 10_000, `all ${wrote} bytes reaching the primary's stdout (${received} so far)`);
    expect(received).toBe(wrote);
    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
  }, 40_000);
});

describe('the last lines of a worker that exits', () => {
  /** For each worker pid, how many of its `tail <pid> <i>` lines arrived, if they are 0, 1, 2, ... in order; -1 otherwise. */
  function tails(lines: string[]): Map<number, number> {
    const seen = new Map<number, number>();
    for (const line of lines) {
      const match = /^tail (\d+) (\d+) t{240}$/.exec(line);
      if (match === null) continue;
      const pid = Number(match[1]);
      const count = seen.get(pid) ?? 0;
      seen.set(pid, count === Number(match[2]) ? count + 1 : -1);
    }
    return seen;
  }

  it('workers that write 4,000 lines (1 MB) to stderr and exit at start-up: all of them reach the CLI\'s stderr before it exits', async () => {
    const run = runCli(['--workers', '1', fixture('output-tail.mjs')], {}, () => {});
    expect(await run.exited).toEqual({ code: 1, signal: null });
    expect(run.stderrLines.some((line) => line.includes('[ERR_CLUSTERIZE_START_FAILED]'))).toBe(true);
    const seen = tails(run.stderrLines);
    // The 5 failed starts in a row that stop the CLI.
    expect([...seen.values()]).toEqual([4000, 4000, 4000, 4000, 4000]);
  }, 30_000);

  it('a serving worker that writes 4,000 lines to stderr and calls process.exit(1): all of them arrive, the last too', async () => {
    const run = runCli(['--workers', '1', fixture('output-tail.mjs')], { TAIL_WHEN: 'request' }, () => {});
    const port = Number((await run.line(/1 worker ready on 127\.0\.0\.1:(\d+)$/))[1]);
    const pid = Number(/pid (\d+)/.exec((await request(port)).body)![1]);
    await run.line(new RegExp(`pid ${pid}\\) exited with code 1`));
    await run.line(new RegExp(`^tail ${pid} 3999 `), 10_000);
    expect(tails(run.stderrLines).get(pid)).toBe(4000);
  }, 30_000);

  it('on SIGTERM the primary exits only once what its workers wrote has reached its stdout, read late', async () => {
    let received = 0;
    const run = runCli(['--workers', '1', fixture('output-flood.mjs')], {}, (chunk) => { received += chunk.length; });
    const port = Number((await run.line(/1 worker ready on 127\.0\.0\.1:(\d+)$/))[1]);
    const primary = run.child.pid!;
    run.child.stdout!.pause();
    // 256 KB: more than the pipe to us takes, so some waits in the primary; less than the
    // pipes and buffers on the way hold, so the worker is not held back and exits on SIGTERM.
    const worker = Number(/pid (\d+)/.exec((await request(port, '/flood?mb=0.25')).body)![1]);
    const wrote = Number((await run.line(/^output-flood: wrote (\d+) bytes/))[1]);
    run.child.kill('SIGTERM');
    // The worker is gone and the primary has exited, or waits idle for its output to be read.
    let idleFor = 0;
    await until(() => {
      idleFor = !isAlive(worker) && /epoll_wait/.test(wchan(primary)) ? idleFor + 1 : 0;
      return run.child.exitCode !== null || idleFor >= 3;
    }, 10_000, 'the primary exiting or waiting');
    run.child.stdout!.resume();
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(received).toBe(wrote);
  });
});
