import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, pidsServing, run, type Running } from './helpers.ts';
import { keepAliveLoadWhile } from './load.ts';

let primary: Running | undefined;
afterEach(async () => {
  await primary?.close();
  primary = undefined;
});

type Event = { event: string; [key: string]: unknown };

function events(proc: Running): Event[] {
  return proc.output().split('\n').filter((line) => line.startsWith('{"event"')).map((line) => JSON.parse(line) as Event);
}

async function startApi(env: Record<string, string>): Promise<{ proc: Running; port: number }> {
  primary = run([fixture('ops-api.mjs')], { env });
  const match = await primary.waitFor(/\{"event":"started","port":(\d+)/);
  return { proc: primary, port: Number(match[1]) };
}

describe('cluster.scale()', () => {
  it('a new worker gets no connection before it is ready; scaling down drains the extra workers', async () => {
    const { proc, port } = await startApi({ SCENARIO: 'scale' });
    const firstSeen = new Map<number, number>();
    const note = async (count: number) => {
      for (const [pid] of await pidsServing(port, count)) if (!firstSeen.has(pid)) firstSeen.set(pid, Date.now());
    };
    while (!events(proc).some((e) => e.event === 'scaled')) await note(1);
    // Until the new worker has answered too (under shared the kernel picks): bounded.
    for (let i = 0; i < 300 && firstSeen.size < 3; i++) await note(1);
    // All three seen: the primary may scale down now.
    proc.child.kill('SIGUSR2');
    const fork = events(proc).find((e) => e.event === 'fork')!;
    const ready = events(proc).find((e) => e.event === 'ready')!;
    expect(ready.pid).toBe(fork.pid);
    // The new worker held its readiness for 800 ms from start-up...
    expect((ready.at as number) - (fork.at as number)).toBeGreaterThanOrEqual(800);
    // ...and was given no connection while it held it, then served like the others. (The
    // primary's 'ready' event comes a moment after the worker starts accepting: it waits to
    // hear that the worker accepts.)
    expect(firstSeen.get(ready.pid as number)).toBeGreaterThanOrEqual((fork.at as number) + 800);
    expect(firstSeen.size).toBe(3);
    const scaledUp = events(proc).find((e) => e.event === 'scaled')!.workers as number[];
    expect(scaledUp.sort()).toEqual([...firstSeen.keys()].sort());
    const down = await proc.waitFor(/"event":"scaled","workers":\[(\d+)\]/);
    const remaining = Number(down[1]);
    expect([...(await pidsServing(port, 10)).keys()]).toEqual([remaining]);
    await proc.waitFor(/("event":"exit"[\s\S]*){2}/);
    expect(events(proc).filter((e) => e.event === 'exit').map((e) => e.code)).toEqual([0, 0]);
  });
});

describe('cluster.reload() and long-lived connections', () => {
  it('tells the app to close its SSE streams when a worker drains, and replaces every worker', async () => {
    const { proc, port } = await startApi({ SCENARIO: 'reload' });
    const started = events(proc).find((e) => e.event === 'started')!.pids as number[];
    const stream = await new Promise<{ body: Promise<string> }>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/events' }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => { body += chunk; });
        resolve({ body: new Promise((done) => res.on('end', () => done(body))) });
      }).on('error', reject);
    });
    // The stream is open on an old worker: the primary may reload now.
    proc.child.kill('SIGUSR2');
    // Ended by the app's own goodbye, not cut by the shutdown deadline.
    const body = await stream.body;
    expect(body).toContain('event: bye');
    const reloaded = await proc.waitFor(/"event":"reloaded","workers":\[(\d+),(\d+)\]/);
    const fresh = [Number(reloaded[1]), Number(reloaded[2])];
    expect(fresh.filter((pid) => started.includes(pid))).toEqual([]);
  });
});

describe('maxAge', () => {
  it('recycles workers one at a time, with no failed request under load', async () => {
    const { proc, port } = await startApi({ MAX_AGE: '1200' });
    // Under load until two workers were recycled for age and have exited (bounded).
    const twoRecycled = proc.waitForCount(/"event":"exit"/, 2, 25_000);
    const result = await keepAliveLoadWhile(port, twoRecycled, { connections: 10 });
    expect({ errors: result.errors, non2xx: result.non2xx, timeouts: result.timeouts }).toEqual({ errors: 0, non2xx: 0, timeouts: 0 });
    expect(result.requests).toBeGreaterThan(100);
    const log = events(proc).filter((e) => e.event === 'recycle' || e.event === 'exit');
    expect(log.filter((e) => e.event === 'recycle' && e.kind === 'age').length).toBeGreaterThanOrEqual(2);
    // Never two recycles at once: each recycle is followed by its worker's exit before the next one starts.
    let recycling: unknown;
    for (const entry of log) {
      if (entry.event === 'recycle') {
        expect(recycling).toBeUndefined();
        recycling = entry.id;
      } else if (entry.id === recycling) {
        recycling = undefined;
      }
    }
  });
});

describe('cluster.workers', () => {
  it("shows each worker's memory and event-loop delay from its heartbeats", async () => {
    const { proc } = await startApi({ SCENARIO: 'health' });
    await proc.waitFor(/"event":"health"/, 10_000);
    const health = events(proc).find((e) => e.event === 'health')!.workers as { pid: number; rss: number; loopDelay: { mean: number; p99: number; max: number } }[];
    expect(health).toHaveLength(2);
    for (const worker of health) {
      expect(worker.rss).toBeGreaterThan(10 * 1024 * 1024);
      expect(worker.loopDelay.mean).toBeGreaterThan(0);
      expect(worker.loopDelay.p99).toBeGreaterThanOrEqual(worker.loopDelay.mean);
      expect(worker.loopDelay.max).toBeGreaterThanOrEqual(worker.loopDelay.p99);
    }
  });
});

describe('cluster.beforeExit()', () => {
  it('runs after every worker has exited on SIGTERM, then the primary exits 0', async () => {
    const { proc } = await startApi({});
    expect(await proc.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const log = events(proc).filter((e) => e.event === 'exit' || e.event === 'beforeExit');
    expect(log.map((e) => e.event)).toEqual(['exit', 'exit', 'beforeExit']);
    expect(log[2]).toMatchObject({ workersLeft: 0 });
  });
});
