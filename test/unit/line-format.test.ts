import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { jsonLogLine } from '../../packages/core/src/json-log.ts';
import { workerLineFormat } from '../../packages/core/src/supervision/line-format.ts';
import { MAX_WHOLE_LINE_BYTES, OutputRelay } from '../../packages/core/src/supervision/output-relay.ts';

const source = { id: 3, slot: 1, pid: 4242, stream: 'stderr' } as const;
const terminal = { isTTY: true };
const pipe = {};
const text = (value: string) => Buffer.from(value);

describe('workerLineFormat: what a worker\'s lines look like in the primary\'s output', () => {
  it("'auto' prefixes on a terminal only, and never in JSON; true and false force it", () => {
    expect(workerLineFormat({ logPrefix: 'auto', logFormat: 'text' }, pipe, source)).toBeUndefined();
    expect(workerLineFormat({ logPrefix: false, logFormat: 'text' }, terminal, source)).toBeUndefined();
    const onTerminal = workerLineFormat({ logPrefix: 'auto', logFormat: 'text' }, terminal, source)!;
    expect(onTerminal(text('one\ntwo\n'), false).toString()).toBe('[w3 s1] one\n[w3 s1] two\n');
    const forced = workerLineFormat({ logPrefix: true, logFormat: 'text' }, pipe, source)!;
    expect(forced(text('one\n'), false).toString()).toBe('[w3 s1] one\n');
    expect(workerLineFormat({ logPrefix: 'auto', logFormat: 'json' }, terminal, { ...source, stream: 'stdout' })).toBeUndefined();
  });

  it('a piece of an over-long line gets the prefix where the line starts, not where it goes on', () => {
    const prefix = workerLineFormat({ logPrefix: true, logFormat: 'text' }, pipe, source)!;
    expect(prefix(text('start of a long'), false).toString()).toBe('[w3 s1] start of a long');
    expect(prefix(text(' line\nnext\n'), true).toString()).toBe(' line\n[w3 s1] next\n');
  });

  it('in JSON with a prefix, each line is an object; clusterize\'s own lines are log entries', () => {
    const wrap = workerLineFormat({ logPrefix: true, logFormat: 'json' }, pipe, source)!;
    const lines = wrap(text('{"app":"json"}\nclusterize: worker 3 (pid 4242): the app exited (process.exit) while the drain still had 1 connection open, which were cut\npiece'), false)
      .toString().split('\n');
    expect(lines).toHaveLength(4);
    expect(JSON.parse(lines[0]!)).toEqual({ time: expect.any(String), worker: 3, slot: 1, pid: 4242, stream: 'stderr', line: '{"app":"json"}' });
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: 'warn', event: 'worker.cut', pid: 4242, worker: 3, workerPid: 4242 });
    expect(JSON.parse(lines[2]!)).toMatchObject({ line: 'piece', partial: true });
  });

  it('in JSON without a prefix, the app\'s stderr passes as it is and clusterize\'s own lines become entries', () => {
    const own = workerLineFormat({ logPrefix: 'auto', logFormat: 'json' }, pipe, source)!;
    const untouched = text('app line\nanother\n');
    expect(own(untouched, false)).toBe(untouched);
    const [app, entry] = own(text('app line\nclusterize: worker 3 (pid 4242) exits with 2 of its messages to the primary unsent\n'), false).toString().split('\n');
    expect(app).toBe('app line');
    expect(JSON.parse(entry!)).toMatchObject({ event: 'log', pid: 4242, worker: 3, message: 'worker 3 (pid 4242) exits with 2 of its messages to the primary unsent' });
  });
});

describe('OutputRelay with a format', () => {
  it('keeps lines whole with their prefix, and prefixes an over-long line once', async () => {
    const writes: string[] = [];
    const to = new Writable({ highWaterMark: 4 * MAX_WHOLE_LINE_BYTES, write(chunk: Buffer, _encoding, callback) { writes.push(chunk.toString('latin1')); callback(); } });
    const relay = new OutputRelay(to);
    const from = new PassThrough();
    relay.add(from, () => {}, false, workerLineFormat({ logPrefix: true, logFormat: 'text' }, pipe, source));
    from.write('a\nb');
    from.write('c\n');
    const long = 'x'.repeat(MAX_WHOLE_LINE_BYTES);
    from.write(long);
    from.write(long);
    from.write('\nafter\n');
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes.join('')).toBe(`[w3 s1] a\n[w3 s1] bc\n[w3 s1] ${long}${long}\n[w3 s1] after\n`);
  });
});

describe('jsonLogLine: clusterize\'s lines as entries', () => {
  const at = new Date('2026-01-02T03:04:05.006Z');
  const entry = (line: string) => JSON.parse(jsonLogLine(line, 100, at)) as Record<string, unknown>;

  it('names the event, the level, the worker and its pid, and a coded error\'s code', () => {
    expect(entry('clusterize: worker 5 (pid 777) exited with code 1; starting a replacement in 100 ms')).toEqual({
      time: '2026-01-02T03:04:05.006Z', level: 'warn', event: 'worker.exit', pid: 100, worker: 5, workerPid: 777,
      message: 'worker 5 (pid 777) exited with code 1; starting a replacement in 100 ms',
    });
    expect(entry('clusterize: Start failed: worker 2 (pid 9) exited with code 1 before it was ready [ERR_CLUSTERIZE_START_FAILED]'))
      .toMatchObject({ level: 'error', event: 'start.failed', worker: 2, code: 'ERR_CLUSTERIZE_START_FAILED' });
  });

  it('classifies the lines of a cluster\'s life', () => {
    const events = Object.fromEntries([
      ['primary 10 starting 2 workers (policy shared)', 'cluster.start'],
      ['2 workers ready on 127.0.0.1:3000', 'cluster.ready'],
      ['admin server on http://127.0.0.1:9100 (/metrics /livez /readyz /workers)', 'admin.listen'],
      ['SIGHUP received; reloading workers one by one', 'reload.start'],
      ['reload complete', 'reload.complete'],
      ['Reload failed: new worker 4 (pid 5) exited with code 1 before it was ready; the old workers keep serving.', 'reload.failed'],
      ['SIGTERM received; draining workers (up to 10000 ms; send it again to stop at once)', 'shutdown.start'],
      ['SIGINT received again; killing workers', 'shutdown.kill'],
      ['worker 3 (pid 5) has not answered a heartbeat for 30000 ms; replacing it', 'worker.hung'],
      ['worker 3 (pid 5) uses 300 MB (maxMemory 256 MB); replacing it', 'worker.recycle'],
      ['worker 3 (pid 5) is draining: a worker of the new release serves in its place', 'worker.drain'],
      ['worker 3 (pid 5) cut 2 open connections at the shutdown deadline (shutdownTimeout 10000 ms)', 'worker.cut'],
      ['worker 3 (pid 5) did not finish within 10000 ms; killing it', 'worker.kill'],
      ['worker 3 could not listen on 127.0.0.1:80: EACCES', 'worker.listen-failed'],
      ['closed 12 connections: every worker is at maxConnections', 'connections.closed'],
      ['internal error while supervising workers: TypeError: x', 'internal.error'],
      ['watching src for changes (node_modules and .git left out); a change reloads the workers', 'watch.start'],
      ['src/app.mjs changed; reloading workers one by one', 'watch.change'],
      ["the change to src/app.mjs did not start: SyntaxError: Unexpected identifier 'is' (src/app.mjs:3); the old workers keep serving", 'watch.failed'],
      ['could not watch src/lib for changes: ENOSPC', 'watch.error'],
      ['a beforeExit hook failed: Error: db', 'log'],
    ].map(([line, event]) => [line, event]));
    expect(Object.fromEntries(Object.keys(events).map((line) => [line, entry(`clusterize: ${line}`).event]))).toEqual(events);
    expect(entry('clusterize: a beforeExit hook failed: Error: db').level).toBe('error');
  });
});
