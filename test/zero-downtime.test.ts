import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, pidsServing, request, sleep, startCli, until, workerPids } from './helpers.ts';
import { churnLoadWhile, keepAliveLoadWhile, type LoadResult } from './load.ts';

type Cluster = Awaited<ReturnType<typeof startCli>>;
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function start(args: string[], env: Record<string, string> = {}): Promise<Cluster> {
  cluster = await startCli('ops-app.mjs', ['--workers', '2', ...args], env);
  return cluster;
}

/** Sends SIGHUP `times` times, each after the previous reload completed. */
async function reloads(running: Cluster, times: number): Promise<void> {
  for (let i = 1; i <= times; i++) {
    const before = running.output().split('reload complete').length;
    running.child.kill('SIGHUP');
    await running.waitFor(new RegExp(`(reload complete[\\s\\S]*){${before}}`), 20_000);
  }
}

function expectNothingLost(result: LoadResult): void {
  expect(result.requests).toBeGreaterThan(100);
  expect({ errors: result.errors, non2xx: result.non2xx, timeouts: result.timeouts }).toEqual({ errors: 0, non2xx: 0, timeouts: 0 });
}

describe('rolling reload under load', () => {
  for (const policy of ['shared', 'round-robin']) {
    it(`five reloads during keep-alive load drop nothing and replace every worker (${policy})`, async () => {
      const running = await start(['--policy', policy]);
      const before = new Set([...(await workerPids(running.port, 2))].map(String));
      const result = await keepAliveLoadWhile(running.port, reloads(running, 5));
      expectNothingLost(result);
      const after = new Set([...(await workerPids(running.port, 2))].map(String));
      expect(after.size).toBe(2);
      expect([...after].filter((pid) => before.has(pid))).toEqual([]);
    }, 90_000);

    it(`five reloads during connection churn drop nothing (${policy})`, async () => {
      const running = await start(['--policy', policy]);
      const before = new Set([...(await workerPids(running.port, 2))].map(String));
      const result = await churnLoadWhile(running.port, reloads(running, 5));
      expectNothingLost(result);
      expect([...result.pids].length).toBeGreaterThanOrEqual(4);
      const after = [...(await workerPids(running.port, 2))].map(String);
      expect(after.filter((pid) => before.has(pid))).toEqual([]);
    }, 90_000);
  }
});

describe('SIGTERM under load', () => {
  it('completes every request that started, then exits 0', async () => {
    const running = await start([]);
    const slow = Array.from({ length: 6 }, () => request(running.port, '/slow?ms=1500'));
    await running.waitForCount(/^slow request \d+$/m, 6);
    const load = churnLoadWhile(running.port, running.exited, { concurrency: 4 });
    running.child.kill('SIGTERM');
    const replies = await Promise.all(slow);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(await running.exited).toEqual({ code: 0, signal: null });
    const result = await load;
    // Requests that started were answered; those that came after the port closed were refused, not dropped mid-way.
    expect(result.non2xx + result.timeouts).toBe(0);
  });
});

describe('hung workers', () => {
  it('a worker stuck in an endless loop misses its heartbeats and is replaced while the other keeps answering', async () => {
    const running = await start(['--heartbeat-timeout', '1000']);
    const pids = [...(await workerPids(running.port, 2))];
    void request(running.port, '/hang').catch(() => undefined);
    // Bounded by the wait: a heartbeat timeout of 1 s is noticed well within 10 s.
    const match = await running.waitFor(/worker \d+ \(pid (\d+)\) has not answered a heartbeat/, 10_000);
    const hungPid = Number(match[1]);
    expect(pids).toContain(hungPid);
    // Meanwhile every request is answered, never by the hung worker.
    const during = await pidsServing(running.port, 20);
    expect(during.has(hungPid)).toBe(false);
    await until(() => !isAlive(hungPid), 10_000, 'the hung worker exiting');
    const after = await workerPids(running.port, 2);
    expect(after.has(hungPid)).toBe(false);
    expect(after.size).toBe(2);
  });
});

describe('recycling', () => {
  it('a worker over maxMemory is drained and replaced with no failed request', async () => {
    const running = await start(['--max-memory', '150', '--heartbeat-timeout', '5000']);
    const grown = await request(running.port, '/grow?mb=200');
    const grownPid = (JSON.parse(grown.body) as { pid: number }).pid;
    // Under load from before the recycle until the grown worker has exited (bounded).
    const replaced = running.waitFor(new RegExp(`pid ${grownPid}\\) uses \\d+ MB`), 15_000).then(async () => {
      for (const deadline = Date.now() + 15_000; isAlive(grownPid) && Date.now() < deadline;) await sleep(50);
    });
    const result = await keepAliveLoadWhile(running.port, replaced);
    expectNothingLost(result);
    expect(isAlive(grownPid)).toBe(false);
    const after = await workerPids(running.port, 2);
    expect(after.has(grownPid)).toBe(false);
    expect(after.size).toBe(2);
  });
});

describe('bad releases', () => {
  it('a release that throws at start-up stops the reload; the old workers keep serving', async () => {
    const releaseFile = join(mkdtempSync(join(tmpdir(), 'clusterize-')), 'release');
    writeFileSync(releaseFile, 'good');
    const running = await start(['--ready-timeout', '5000'], { RELEASE_FILE: releaseFile });
    const before = await workerPids(running.port, 2);
    writeFileSync(releaseFile, 'bad');
    const failed = running.waitFor(/clusterize: Reload failed: new worker \d+ \(pid \d+\) exited with code 1 before it was ready/, 20_000);
    const load = churnLoadWhile(running.port, failed.then(() => sleep(500)), { concurrency: 4 });
    running.child.kill('SIGHUP');
    await failed;
    const result = await load;
    expect(running.output()).toContain('bad release: the configuration is broken');
    expectNothingLost(result);
    expect(result.pids).toEqual(new Set([...before].map(String)));
    expect(await workerPids(running.port, 3, 60)).toEqual(before);
  });
});
