// --log-format json: clusterize's own lines are JSON objects, one a line, for log shippers;
// the workers' output stays as the app wrote it, or is wrapped too with --log-prefix.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CLI, fixture, request, run, within, type Running } from './helpers.ts';

const scratch = mkdtempSync(join(tmpdir(), 'clusterize-log-format-'));
const releaseFile = join(scratch, 'release');
writeFileSync(releaseFile, 'good');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let cli: Running | undefined;
afterEach(async () => {
  await cli?.close();
  cli = undefined;
});

interface Entry {
  time: string;
  level: 'info' | 'warn' | 'error';
  event: string;
  pid: number;
  worker?: number;
  workerPid?: number;
  code?: string;
  message: string;
}

/** Every line of `output` that is a JSON object, parsed; the others as they are. */
function read(output: string): { entries: Entry[]; other: string[] } {
  const entries: Entry[] = [];
  const other: string[] = [];
  for (const line of output.split('\n').filter((text) => text !== '')) {
    if (line.startsWith('{')) entries.push(JSON.parse(line) as Entry);
    else other.push(line);
  }
  return { entries, other };
}

/** Waits until `cli` has logged an entry of `event` (`count` of them) and returns it. */
async function logged(proc: Running, event: string, count = 1): Promise<Entry> {
  await proc.waitForCount(new RegExp(`"event":"${event.replace('.', '\\.')}"`), count, 20_000);
  return read(proc.output()).entries.filter((entry) => entry.event === event)[count - 1]!;
}

describe('--log-format json', () => {
  it('a run with a reload and a crash: every clusterize line is a JSON object with time, level, event, pid and message; the app\'s own lines stay as written', async () => {
    cli = run([CLI, '--workers', '2', '--log-format', 'json', fixture('release-app.mjs')], { env: { RELEASE_FILE: releaseFile } });
    const ready = await logged(cli, 'cluster.ready');
    const port = Number(/:(\d+)$/.exec(ready.message)![1]);

    cli.child.kill('SIGHUP');
    await logged(cli, 'reload.complete');
    const crashed = (JSON.parse((await request(port, '/crash')).body) as { pid: number }).pid;
    const exit = await logged(cli, 'worker.exit');
    cli.child.kill('SIGTERM');
    expect(await within(cli.exited, 15_000, 'the CLI exiting')).toEqual({ code: 0, signal: null });

    const { entries, other } = read(cli.output());
    const primary = cli.child.pid!;
    // Nothing of clusterize's own in text; what is not JSON is the crashed worker's stack trace.
    expect(other.filter((line) => line.includes('clusterize'))).toEqual([]);
    expect(other.length).toBeGreaterThan(0);
    expect(other.some((line) => line.includes('Error: crash requested'))).toBe(true);
    for (const entry of entries) {
      expect(entry, JSON.stringify(entry)).toMatchObject({ level: expect.stringMatching(/^(info|warn|error)$/), event: expect.stringMatching(/^[a-z.-]+$/), pid: primary, message: expect.any(String) });
      expect(new Date(entry.time).toISOString()).toBe(entry.time);
      expect(entry.message).not.toMatch(/^clusterize: /);
    }
    const events = entries.map((entry) => entry.event);
    for (const event of ['cluster.start', 'cluster.ready', 'reload.start', 'reload.complete', 'worker.exit', 'shutdown.start']) expect(events).toContain(event);
    expect(exit).toMatchObject({ level: 'warn', workerPid: crashed, worker: expect.any(Number) });
    expect(exit.message).toMatch(new RegExp(`^worker ${exit.worker} \\(pid ${crashed}\\) exited with code 1; starting a replacement`));
  });

  it('with --log-prefix, every line is JSON: a start that fails ends with its coded error, the workers\' last output in one entry', async () => {
    cli = run([CLI, '--workers', '1', '--log-format', 'json', '--log-prefix', fixture('cannot-start.mjs')], { env: { CANNOT_START: 'throw' } });
    expect(await within(cli.exited, 20_000, 'the CLI exiting')).toEqual({ code: 1, signal: null });
    const { entries, other } = read(cli.output());
    expect(other).toEqual([]);
    const report = entries.find((entry) => entry.event === 'worker.output')!;
    expect(report.message).toMatch(/^the last output of worker \d+ \(pid \d+\):\n[\s\S]*Error: the configuration file is missing/);
    expect(entries.at(-1)).toMatchObject({ level: 'error', event: 'start.failed', code: 'ERR_CLUSTERIZE_START_FAILED', message: expect.stringMatching(/^Start failed: worker \d+ \(pid \d+\) exited with code 1 before it was ready/) });
  });

  it('with --log-prefix, a worker\'s lines are objects naming the worker, its slot, its pid and the stream', async () => {
    cli = run([CLI, '--workers', '2', '--log-format', 'json', '--log-prefix', fixture('hello.mjs')]);
    await logged(cli, 'cluster.ready');
    const lines = read(cli.output()).entries.filter((entry) => 'line' in entry) as unknown as { worker: number; slot: number; pid: number; stream: string; line: string }[];
    expect(lines.map(({ worker, slot, stream }) => ({ worker, slot, stream })).toSorted((a, b) => a.worker - b.worker)).toEqual([
      { worker: 1, slot: 0, stream: 'stdout' }, { worker: 2, slot: 1, stream: 'stdout' },
    ]);
    for (const line of lines) expect(line.line).toMatch(/^listening \{"address":"/);
  });
});
