// Issue 19: the app's own shutdown runs on every drain, and a reload is never a stop.
// A worker drained for any reason (SIGTERM to the primary, a reload, a scale-down, a maxAge
// recycle, shutdown(), SIGTERM to the whole process group) runs its app's SIGTERM listeners
// once, as plain node would: terminus, http-terminator, close-with-grace, the OpenTelemetry
// SDK's flush, NestJS's enableShutdownHooks(). The fixtures (fixtures/shutdown/) append each
// hook run to HOOK_LOG and each exported span to SPAN_LOG, synchronously.
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, isAlive, request, run, startCli, startPrimary, until, within, type Running } from './helpers.ts';
import { keepAliveLoadWhile } from './load.ts';

let cluster: Running | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

interface Line {
  pid: number;
  worker?: string;
  hook?: string;
  signal?: string | null;
  role?: string;
  message?: string;
}

/** Fresh HOOK_LOG and SPAN_LOG files for one cluster. */
function logFiles(): { HOOK_LOG: string; SPAN_LOG: string } {
  const dir = mkdtempSync(join(tmpdir(), 'clusterize-app-shutdown-'));
  return { HOOK_LOG: join(dir, 'hooks.jsonl'), SPAN_LOG: join(dir, 'spans.jsonl') };
}

function lines(file: string): Line[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Line);
}

/** The hooks (all but 'started') the process `pid` ran, in order; an error the app recorded, with its message. */
function hooksOf(file: string, pid: number): string[] {
  return lines(file).filter((line) => line.pid === pid && line.hook !== 'started')
    .map((line) => (line.message === undefined ? line.hook! : `${line.hook}: ${line.message}`));
}

/** The pids of the workers that ever started (the primary of a plugin-style script is left out). */
function startedWorkers(file: string): number[] {
  return lines(file).filter((line) => line.hook === 'started' && line.worker !== undefined).map((line) => line.pid);
}

/** Spans exported, by pid: one per request answered 200, once the worker flushed them. */
function spansByPid(file: string): Map<number, number> {
  const count = new Map<number, number>();
  for (const { pid } of lines(file)) count.set(pid, (count.get(pid) ?? 0) + 1);
  return count;
}

/** Adds the counts of `more` into `into` (responses by pid). */
function addInto(into: Map<number, number>, more: Map<number, number>): Map<number, number> {
  for (const [pid, n] of more) into.set(pid, (into.get(pid) ?? 0) + n);
  return into;
}

/** The counts of `pids` only (0 for a pid with none). */
const only = (counts: Map<number, number>, pids: Iterable<number>) => new Map([...pids].map((pid) => [pid, counts.get(pid) ?? 0]));

/**
 * Requests on new connections until `workers` pids not in `except` answered at least
 * `each` times (at most 300 requests); returns the 200 responses by pid.
 */
async function serve(port: number, workers: number, each = 2, except: ReadonlySet<number> = new Set()): Promise<Map<number, number>> {
  const ok = new Map<number, number>();
  const enough = () => [...ok].filter(([pid, n]) => !except.has(pid) && n >= each).length >= workers;
  for (let i = 0; i < 300 && !enough(); i++) {
    const reply = await request(port);
    expect(reply.status).toBe(200);
    const { pid } = JSON.parse(reply.body) as { pid: number };
    ok.set(pid, (ok.get(pid) ?? 0) + 1);
  }
  if (!enough()) throw new Error(`only ${JSON.stringify([...ok])} answered, wanted ${workers} workers ${each} times each`);
  return ok;
}

/** One request on a keep-alive connection that stays open (idle) afterwards. */
async function keepAliveRequest(port: number, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/keep-alive', agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => (res.statusCode === 200 ? resolve((JSON.parse(body) as { pid: number }).pid) : reject(new Error(`status ${res.statusCode}`))));
    }).on('error', reject);
  });
}

/** What the primary logs when a worker it drained ended badly or was cut. */
const UNCLEAN = /exited with code [1-9]|was killed by|did not finish within|a close hook failed|was still busy|open connections? at the shutdown deadline|Server is not running/;
/** What it logs when a worker drained, or exited, without being asked to. */
const UNASKED = /is draining on its own|starting a replacement|exited with code/;

/**
 * No worker ended badly. With `signalledGroup` (every process got the signal at once) a
 * worker may tell the primary it drains before the primary's own signal is handled: then
 * only the workers that started count (see startedWorkers), not that line.
 */
function expectNoUncleanExit(running: Running, { signalledGroup = false } = {}): void {
  expect(running.output()).not.toMatch(UNCLEAN);
  if (!signalledGroup) expect(running.output()).not.toMatch(UNASKED);
}

/** Waits for the "ready on" line of a script that prints it (the plugin-style fixtures). */
/** SIGHUP to the primary, until the reload is complete and the `old` workers are gone. */
async function reloadedFrom(running: Running, old: readonly number[]): Promise<void> {
  running.child.kill('SIGHUP');
  await running.waitFor(/reload complete/, 20_000);
  await until(() => old.every((pid) => !isAlive(pid)), 5_000, 'the old workers exiting');
}

async function readyPort(running: Running): Promise<number> {
  const match = await running.waitFor(/workers? ready on \S+:(\d+)/, 20_000);
  return Number(match[1]);
}

const TERMINUS = ['terminus-onSignal', 'otel-shutdown', 'terminus-onShutdown'];
const GRACE = ['close-with-grace', 'http-terminator', 'otel-shutdown'];
const OTEL = ['sigterm', 'otel-shutdown'];
const NEST = ['nest-onModuleDestroy', 'nest-beforeApplicationShutdown', 'nest-onApplicationShutdown'];

/** Each of `pids` ran exactly `hooks` (in order), and the Nest/close-with-grace ones were told SIGTERM. */
function expectHooks(file: string, pids: Iterable<number>, hooks: string[]): void {
  const ran = Object.fromEntries([...pids].map((pid) => [pid, hooksOf(file, pid)]));
  expect(ran).toEqual(Object.fromEntries([...pids].map((pid) => [pid, hooks])));
  const told = lines(file).filter((line) => [...pids].includes(line.pid) && line.signal !== undefined).map((line) => line.signal);
  expect(told.filter((signal) => signal !== 'SIGTERM')).toEqual([]);
}

describe('the app shutdown runs once per drained worker (CLI)', () => {
  it('SIGTERM to the primary: close-with-grace, http-terminator and the OpenTelemetry flush run once in each worker; no span is lost; exit 0', async () => {
    const logs = logFiles();
    const running = await startCli('shutdown/grace.mjs', ['--workers', '2', '--shutdown-timeout', '3000'], logs);
    cluster = running;
    const served = await serve(running.port, 2);
    // An idle keep-alive connection is still open when the drain starts.
    const agent = new http.Agent({ keepAlive: true });
    const keptBy = await keepAliveRequest(running.port, agent);
    addInto(served, new Map([[keptBy, 1]]));
    const workers = startedWorkers(logs.HOOK_LOG);
    expect(workers).toHaveLength(2);

    running.child.kill('SIGTERM');
    expect(await within(running.exited, 10_000, 'the primary exiting')).toEqual({ code: 0, signal: null });
    agent.destroy();
    expectHooks(logs.HOOK_LOG, workers, GRACE);
    expect(startedWorkers(logs.HOOK_LOG)).toEqual(workers);
    expect(spansByPid(logs.SPAN_LOG)).toEqual(only(served, workers));
    expectNoUncleanExit(running);
  });

  it('SIGTERM to the whole process group: each worker drains once (no second-signal exit, no replacement forked) and the primary exits 0', async () => {
    const logs = logFiles();
    const running = await startCli('shutdown/grace.mjs', ['--workers', '2', '--shutdown-timeout', '3000'], logs, { detached: true });
    cluster = running;
    const served = await serve(running.port, 2);
    const workers = startedWorkers(logs.HOOK_LOG);
    expect(workers).toHaveLength(2);

    // Every process gets SIGTERM at once, as with Ctrl-C, systemd's KillMode=control-group or
    // kill -- -PGID. close-with-grace exits 1 on a second signal ('second-signal'), and an
    // http-terminator whose server clusterize already closed throws "Server is not running.".
    process.kill(-running.child.pid!, 'SIGTERM');
    expect(await within(running.exited, 10_000, 'the primary exiting')).toEqual({ code: 0, signal: null });
    await until(() => workers.every((pid) => !isAlive(pid)), 5_000, 'the workers exiting');
    expectHooks(logs.HOOK_LOG, workers, GRACE);
    // The set of workers that ever started stayed the first two.
    expect(startedWorkers(logs.HOOK_LOG)).toEqual(workers);
    expect(spansByPid(logs.SPAN_LOG)).toEqual(only(served, workers));
    expectNoUncleanExit(running, { signalledGroup: true });
  });

  it('SIGHUP reload: each old worker runs terminus (onSignal, the span flush, onShutdown) once while the new ones serve; then SIGTERM does the same for the new ones', async () => {
    const logs = logFiles();
    const running = await startCli('shutdown/terminus.mjs', ['--workers', '2', '--shutdown-timeout', '3000'], logs);
    cluster = running;
    const served = await serve(running.port, 2);
    const old = startedWorkers(logs.HOOK_LOG);
    expect(old).toHaveLength(2);

    await reloadedFrom(running, old);
    expectHooks(logs.HOOK_LOG, old, TERMINUS);
    expect(spansByPid(logs.SPAN_LOG)).toEqual(only(served, old));

    // The new workers serve, and drain their own way on SIGTERM.
    addInto(served, await serve(running.port, 2, 2, new Set(old)));
    const fresh = startedWorkers(logs.HOOK_LOG).filter((pid) => !old.includes(pid));
    expect(fresh).toHaveLength(2);
    running.child.kill('SIGTERM');
    expect(await within(running.exited, 10_000, 'the primary exiting')).toEqual({ code: 0, signal: null });
    expectHooks(logs.HOOK_LOG, [...old, ...fresh], TERMINUS);
    expect(spansByPid(logs.SPAN_LOG)).toEqual(only(served, [...old, ...fresh]));
    expectNoUncleanExit(running);
  }, 60_000);

  it('maxAge recycle: the recycled worker runs its SIGTERM listener (the OpenTelemetry docs\' sdk.shutdown() then process.exit(0)) once; no span is lost', async () => {
    const logs = logFiles();
    const running = await startCli('shutdown/otel.mjs', ['--workers', '2', '--shutdown-timeout', '3000', '--max-age', '3000'], logs);
    cluster = running;
    const served = await serve(running.port, 2);
    const match = await running.waitFor(/worker \d+ \(pid (\d+)\) is \d+ ms old \(maxAge 3000 ms\); replacing it/, 10_000);
    const recycled = Number(match[1]);
    expect(served.has(recycled)).toBe(true);
    await until(() => !isAlive(recycled), 8_000, 'the recycled worker exiting');
    expectHooks(logs.HOOK_LOG, [recycled], OTEL);
    expect(spansByPid(logs.SPAN_LOG).get(recycled) ?? 0).toBe(served.get(recycled));
    expectNoUncleanExit(running);
  }, 60_000);
});

describe('the app shutdown runs once per drained worker (API)', () => {
  it('scale(1) retires a worker that runs its SIGTERM listener once; shutdown() then drains the other the same way', async () => {
    const logs = logFiles();
    const running = await startPrimary('shutdown/otel.mjs', { workers: 2, shutdownTimeout: 3000 }, { ...logs, SCALE_TO: '1' });
    cluster = running;
    const served = await serve(running.port, 2);
    const workers = startedWorkers(logs.HOOK_LOG);
    expect(workers).toHaveLength(2);

    running.child.kill('SIGWINCH');
    await running.waitFor(/api: scaled to 1/, 15_000);
    await until(() => workers.some((pid) => !isAlive(pid)), 5_000, 'a worker exiting');
    const [retired, kept] = isAlive(workers[0]!) ? [workers[1]!, workers[0]!] : [workers[0]!, workers[1]!];
    expectHooks(logs.HOOK_LOG, [retired], OTEL);
    expect(hooksOf(logs.HOOK_LOG, kept)).toEqual([]);
    expect(spansByPid(logs.SPAN_LOG)).toEqual(only(served, [retired]));

    running.child.kill('SIGUSR2');
    const report = await running.waitFor(/api: shutdown (\{.*\})/, 10_000);
    expect(JSON.parse(report[1]!)).toEqual({ cutConnections: 0, killedWorkers: 0, clean: true });
    expectHooks(logs.HOOK_LOG, workers, OTEL);
    expect(startedWorkers(logs.HOOK_LOG)).toEqual(workers);
    expect(spansByPid(logs.SPAN_LOG)).toEqual(only(served, workers));
    expectNoUncleanExit(running);
  });
});

describe('NestJS enableShutdownHooks()', () => {
  it('in each worker under the CLI: its shutdown hooks run once per worker on a reload and on SIGTERM', async () => {
    const logs = logFiles();
    const running = await startCli('shutdown/nest.mjs', ['--workers', '2', '--shutdown-timeout', '3000'], logs);
    cluster = running;
    await serve(running.port, 2, 1);
    const old = startedWorkers(logs.HOOK_LOG);
    expect(old).toHaveLength(2);

    await reloadedFrom(running, old);
    expectHooks(logs.HOOK_LOG, old, NEST);

    await serve(running.port, 2, 1, new Set(old));
    const fresh = startedWorkers(logs.HOOK_LOG).filter((pid) => !old.includes(pid));
    expect(fresh).toHaveLength(2);
    running.child.kill('SIGTERM');
    expect(await within(running.exited, 10_000, 'the primary exiting')).toEqual({ code: 0, signal: null });
    expectHooks(logs.HOOK_LOG, [...old, ...fresh], NEST);
    expectNoUncleanExit(running);
  }, 60_000);

  it('plugin style (the script runs in the primary too): SIGHUP under keep-alive load reloads with no failed request and each old worker runs its Nest hooks once; then SIGTERM drains each new worker once, forks no replacement and exits 0', async () => {
    const logs = logFiles();
    const running = run([fixture('shutdown/nest-plugin.mjs')], { env: logs });
    cluster = running;
    const port = await readyPort(running);
    const before = new Set((await serve(port, 2, 1)).keys());

    running.child.kill('SIGHUP');
    const reloaded = running.waitFor(/reload complete/, 20_000);
    const load = await keepAliveLoadWhile(port, reloaded.catch(() => undefined), { connections: 2, maxSeconds: 25 });
    await reloaded;
    expect(load.requests).toBeGreaterThan(0);
    expect({ errors: load.errors, non2xx: load.non2xx, timeouts: load.timeouts }).toEqual({ errors: 0, non2xx: 0, timeouts: 0 });
    expect(running.child.exitCode).toBe(null);
    expect(running.child.signalCode).toBe(null);
    const after = await serve(port, 2, 1, before);
    expect([...after.keys()].filter((pid) => before.has(pid))).toEqual([]);
    await until(() => [...before].every((pid) => !isAlive(pid)), 5_000, 'the old workers exiting');
    expectHooks(logs.HOOK_LOG, before, NEST);

    // The primary's own Nest app listens for SIGTERM too (and re-raises it once its hooks ran):
    // still one drain per worker, no worker started during the shutdown, and exit 0.
    const started = startedWorkers(logs.HOOK_LOG);
    running.child.kill('SIGTERM');
    expect(await within(running.exited, 10_000, 'the primary exiting')).toEqual({ code: 0, signal: null });
    await until(() => started.every((pid) => !isAlive(pid)), 5_000, 'the workers exiting');
    expectHooks(logs.HOOK_LOG, started, NEST);
    expect(startedWorkers(logs.HOOK_LOG)).toEqual(started);
    // The primary's own Nest app closed too, once, after its workers were gone.
    expectHooks(logs.HOOK_LOG, [running.child.pid!], NEST);
    expectNoUncleanExit(running);
  }, 60_000);

  it('in-process (workers: 0): SIGTERM runs the Nest hooks once, after the drain, and the process exits 0', async () => {
    const logs = logFiles();
    const running = run([fixture('shutdown/nest-plugin.mjs')], { env: { ...logs, CLUSTERIZE_WORKERS: '0' } });
    cluster = running;
    const port = await readyPort(running);
    expect([...(await serve(port, 1, 2)).keys()]).toEqual([running.child.pid]);
    running.child.kill('SIGTERM');
    expect(await within(running.exited, 10_000, 'the process exiting')).toEqual({ code: 0, signal: null });
    expectHooks(logs.HOOK_LOG, [running.child.pid!], NEST);
  }, 30_000);

  it('plugin style with useProcessExit (Nest calls process.exit(0) after its hooks, in the primary too): SIGHUP still reloads, and the primary keeps running and serving', async () => {
    const logs = logFiles();
    const running = run([fixture('shutdown/nest-plugin.mjs')], { env: { ...logs, NEST_PROCESS_EXIT: '1' } });
    cluster = running;
    const port = await readyPort(running);
    const before = new Set((await serve(port, 2, 1)).keys());

    running.child.kill('SIGHUP');
    await running.waitFor(/reload complete/, 20_000);
    expect(running.child.exitCode).toBe(null);
    expect(running.child.signalCode).toBe(null);
    const after = await serve(port, 2, 1, before);
    expect([...after.keys()].filter((pid) => before.has(pid))).toEqual([]);
    await until(() => [...before].every((pid) => !isAlive(pid)), 5_000, 'the old workers exiting');
    expectHooks(logs.HOOK_LOG, before, NEST);
    expectNoUncleanExit(running);
  }, 60_000);
});
