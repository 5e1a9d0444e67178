// The supervisor: whatever happens around it (reloads, scaling, crashes, recycling, hangs,
// stalls of its own), the cluster ends with the target number of workers, all running the
// newest release asked for, and every operation settles. Clusters run in this process
// through the API (so the test can await each operation) or through the CLI for signals.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCluster, type Cluster, type ClusterOptions } from '@clusterize/core';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, fixture, isAlive, request, run, startCli, until, workerPids, type Running } from './helpers.ts';
import { watchOutput } from './internal-errors.ts';

const APP = fixture('release-app.mjs');

interface Api {
  cluster: Cluster;
  /** The cluster's own log lines so far. */
  log: string[];
  /** Writes the release the next workers start with: `<name> [flag ...]` (see the fixture). */
  deploy(release: string): void;
  /** The release each worker alive now said it runs (workers that never listened are missing). */
  releases(): (string | undefined)[];
  forks: number[];
}

let api: Api | undefined;
let cli: Running | undefined;
afterEach(async () => {
  const cluster = api?.cluster;
  api = undefined;
  if (cluster?.running) {
    const stopped = cluster.shutdown();
    await Promise.race([stopped, until(() => false, 15_000, 'shutdown').catch(() => cluster.kill())]);
    await stopped;
  }
  await cli?.close();
  cli = undefined;
});

function releaseFile(release: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'clusterize-release-')), 'release');
  writeFileSync(file, release);
  return file;
}

/** A cluster of release-app workers in this process; not started. */
function createApi(release: string, options: ClusterOptions = {}): Api {
  const file = releaseFile(release);
  const log: string[] = [];
  const byPid = new Map<number, string>();
  const forks: number[] = [];
  watchOutput(`the cluster log (release ${release})`, () => log.map((line) => `${line}\n`).join(''));
  const cluster = createCluster({
    workers: 2, script: APP, args: [], execArgv: [], signals: false, env: { RELEASE_FILE: file },
    log: (line) => log.push(line), restartDelay: 100, shutdownTimeout: 3_000, ...options,
  });
  cluster.on('message', (worker, message) => byPid.set(worker.pid!, (message as { release: string }).release));
  cluster.on('fork', (worker) => forks.push(worker.id));
  api = {
    cluster, log, forks,
    deploy: (next) => writeFileSync(file, next),
    releases: () => cluster.workers.map((worker) => byPid.get(worker.pid!)),
  };
  return api;
}

async function startApi(release: string, options: ClusterOptions = {}): Promise<Api> {
  const started = createApi(release, options);
  await started.cluster.start();
  return started;
}

/** Every worker alive is ready, of the newest generation, and said it runs `release`. */
function expectSettled({ cluster, releases }: Api, count: number, release: string, generation: number): void {
  expect(cluster.workers.map((worker) => [worker.state, worker.generation])).toEqual(Array(count).fill(['ready', generation]));
  expect(releases()).toEqual(Array(count).fill(release));
}

const pidOf = (body: string) => (JSON.parse(body) as { pid: number }).pid;
const portOf = (cluster: Cluster) => (cluster.address() as { port: number }).port;

describe('reload and scale together', () => {
  it('scale() refuses a count of the wrong type (TypeError) or out of range (RangeError), as `workers` does, and changes nothing', async () => {
    api = await startApi('v1', { workers: 1 });
    await expect(api.cluster.scale('3' as never)).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_CLUSTERIZE_INVALID_WORKERS', message: expect.stringMatching(/scale\(\) count must be an integer from 1 to 1024, got '3'$/) });
    await expect(api.cluster.scale(0)).rejects.toMatchObject({ name: 'RangeError', code: 'ERR_CLUSTERIZE_INVALID_WORKERS', message: expect.stringMatching(/got 0$/) });
    await expect(api.cluster.scale(1.5)).rejects.toMatchObject({ name: 'RangeError', message: expect.stringMatching(/got 1\.5$/) });
    expectSettled(api, 1, 'v1', 0);
  });

  it('an old worker that crashes during a reload is replaced; the reload ends with 2 new workers', async () => {
    const running = await startApi('A');
    const [first, second] = running.cluster.workers;
    running.deploy('B slow=800');
    const reload = running.cluster.reload();
    await until(() => running.cluster.workers.length === 3, 5_000, 'the first new worker starting');
    // The old worker that is not yet being replaced crashes.
    process.kill(second!.pid!, 'SIGKILL');
    await reload;
    expectSettled(running, 2, 'B', 1);
    expect(running.cluster.workers.map((worker) => worker.pid)).not.toContain(first!.pid);
  });

  for (const count of [1, 3, 4]) {
    it(`scale(${count}) during a reload: both settle with ${count} workers, all of the new release`, async () => {
      const running = await startApi('A');
      running.deploy('B slow=500');
      const reload = running.cluster.reload();
      const scale = running.cluster.scale(count);
      await Promise.all([reload, scale]);
      expectSettled(running, count, 'B', 1);
    });
  }

  it('scale(1) while a crash restart is pending ends with 1 worker: the restart looks at the target again', async () => {
    const running = await startApi('A', { restartDelay: 1_000 });
    const exited = new Promise<number>((resolve) => running.cluster.once('exit', () => resolve(Date.now())));
    process.kill(running.cluster.workers[0]!.pid!, 'SIGKILL');
    const exitAt = await exited;
    await running.cluster.scale(1);
    const forksBefore = running.forks.length;
    // The restart was due 1000 ms after the crash: look again well after it.
    await until(() => Date.now() > exitAt + 1_800, 5_000, 'the restart delay passing');
    expect(running.forks.length).toBe(forksBefore);
    expectSettled(running, 1, 'A', 0);
  });

  it('reload() and scale() settle even when an application listener throws; 12 workers need no extra listeners', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const running = createApi('A');
      running.cluster.on('ready', () => {
        throw new Error('a bug in the application');
      });
      await running.cluster.start();
      running.deploy('B');
      await running.cluster.reload();
      expectSettled(running, 2, 'B', 1);
      expect(running.log.join('\n')).toContain("a 'ready' listener threw: Error: a bug in the application");
      await running.cluster.scale(12);
      expect(running.cluster.workers.filter((worker) => worker.state === 'ready')).toHaveLength(12);
      await running.cluster.scale(2);
      expectSettled(running, 2, 'B', 1);
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  }, 60_000);

  it('maxSurge 2 replaces two workers at a time, never more', async () => {
    const running = await startApi('A', { workers: 4, maxSurge: 2 });
    let most = 0;
    // Draining workers are on their way out; the surge counts those that serve or start.
    running.cluster.on('fork', () => { most = Math.max(most, running.cluster.workers.filter((w) => w.state !== 'draining').length); });
    running.deploy('B slow=300');
    await running.cluster.reload();
    expectSettled(running, 4, 'B', 1);
    expect(most).toBe(6);
  });
});

describe('failed reloads', () => {
  it('a new release that is not ready within readyTimeout stops the reload; the old workers keep serving', async () => {
    // The first workers must get ready within it too, on a machine that may be busy: the
    // reload waits it out once, for the new release that never listens.
    const readyTimeout = 5_000;
    const running = await startApi('A', { readyTimeout });
    const before = running.cluster.workers.map((worker) => worker.pid);
    running.deploy('B never-listen');
    await expect(running.cluster.reload()).rejects.toMatchObject({
      code: 'ERR_CLUSTERIZE_RELOAD_FAILED', message: expect.stringMatching(new RegExp(`was not ready within ${readyTimeout} ms.*old workers keep serving`)),
    });
    expect(running.cluster.workers.map((worker) => worker.pid)).toEqual(before);
    expect(running.releases()).toEqual(['A', 'A']);
    const reply = await request(portOf(running.cluster));
    expect(JSON.parse(reply.body)).toMatchObject({ release: 'A' });
  });
});

describe('recycling', () => {
  it('a memory or age replacement that fails is retried with backoff, and the old worker is still watched for hangs', async () => {
    const running = await startApi('A', { maxAge: 1_500, heartbeatTimeout: 1_000, maxRestartDelay: 400 });
    running.deploy('B throw');
    await until(() => running.log.filter((line) => /exited with code 1/.test(line)).length >= 2, 10_000, 'two failed replacements');
    // The workers it was meant to replace still serve...
    expect(running.releases()).toEqual(['A', 'A']);
    // ...and are still watched: one that hangs now is found and replaced.
    void request(portOf(running.cluster), '/hang').catch(() => undefined);
    await until(() => running.log.some((line) => /has not answered a heartbeat/.test(line)), 10_000, 'the hang being noticed');
    running.deploy('C');
    await until(() => {
      const ready = running.cluster.workers.filter((worker) => worker.state === 'ready');
      return ready.length >= 2 && running.releases().every((release) => release === 'C');
    }, 20_000, 'every worker running release C');
  }, 45_000);
});

describe('workers that drain on their own', () => {
  it('is replaced after restartDelay and killed at shutdownTimeout + grace even if its beforeExit hook never settles', async () => {
    const running = await startApi('A stuck-exit', { shutdownTimeout: 1_500 });
    const [leaving, staying] = running.cluster.workers;
    const sentAt = Date.now();
    process.kill(leaving!.pid!, 'SIGTERM');
    await until(() => running.cluster.workers.filter((w) => w.state === 'ready' && w.pid !== leaving!.pid).length === 2, 10_000, 'a replacement being ready');
    await until(() => !isAlive(leaving!.pid!), 6_000, 'the draining worker being killed');
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1_500);
    expect(running.log.join('\n')).toMatch(new RegExp(`pid ${leaving!.pid}\\) is draining on its own`));
    expect(running.cluster.workers.map((w) => w.pid)).toContain(staying!.pid);
    expectSettled(running, 2, 'A', 0);
  });
});

describe('workers that drain themselves in a loop', () => {
  it('are replaced after the crash backoff, doubling each time, and the line says why', async () => {
    const running = createApi('A sigterm-self', { workers: 1, restartDelay: 100, maxRestartDelay: 60_000 });
    running.cluster.start().catch(() => undefined);
    const replacing = /is draining on its own \(a SIGTERM from outside the cluster, or its app\); starting a replacement in (\d+) ms/;
    await until(() => running.log.filter((line) => replacing.test(line)).length >= 5, 20_000, 'five workers draining themselves');
    const delays = running.log.flatMap((line) => replacing.exec(line)?.[1] ?? []).map(Number).slice(0, 5);
    expect(delays).toEqual([100, 200, 400, 800, 1_600]);
    expect(running.log.filter((line) => replacing.test(line))[4]).toMatch(/\(5 failures in a row\)$/);
    // One replacement per drain, no more: the first worker and the four that followed it, and one on its way.
    expect(running.forks.length).toBeLessThanOrEqual(6);
  }, 30_000);
});

describe('a script that can never start', () => {
  // A worker that exits gets retries (5 in a row stop the start); one still alive but not
  // ready within readyTimeout stops it at once: the others run the same code.
  const cases: { what: string; release: string; args?: string[]; says: RegExp; inARow: boolean }[] = [
    { what: 'throws at import', release: 'A throw', says: /exited with code 1 before it was ready: Error: release A cannot start/, inARow: true },
    { what: 'never listens', release: 'A never-listen', args: ['--ready-timeout', '300'], says: /was not ready within 300 ms; it printed nothing/, inARow: false },
    { what: 'exits 0 right after listening', release: 'A exit-early', says: /exited with code 0 before it was ready; it printed nothing/, inARow: true },
    { what: 'has a readiness hold that rejects', release: 'A hold-fails', says: /database unreachable/, inARow: true },
  ];
  for (const { what, release, args = [], says, inARow } of cases) {
    it(`${what}: the CLI stops${inARow ? ' after 5 failed starts in a row' : ' at once'}, exit 1, the cause on the last line`, async () => {
      cli = run([CLI, '--workers', '2', ...args, APP], { env: { RELEASE_FILE: releaseFile(release) } });
      const exit = await cli.exited;
      expect(exit).toEqual({ code: 1, signal: null });
      const last = cli.output().trimEnd().split('\n').at(-1)!;
      expect(last).toMatch(/^clusterize: Start failed: worker \d+ \(pid \d+\) .* \[ERR_CLUSTERIZE_START_FAILED\]$/);
      expect(last).toMatch(says);
      expect(last.includes('; 5 workers in a row failed to start')).toBe(inARow);
    }, 20_000);
  }

  it('its port is taken: the CLI stops, exit 1, and says EADDRINUSE', async () => {
    const holder = run(['-e', "require('net').createServer().listen(0, '127.0.0.1', function () { console.log('port ' + this.address().port) })"]);
    try {
      const port = (await holder.waitFor(/port (\d+)/))[1]!;
      cli = run([CLI, '--workers', '2', APP], { env: { RELEASE_FILE: releaseFile('A'), PORT: port } });
      expect(await cli.exited).toEqual({ code: 1, signal: null });
      expect(cli.output().trimEnd().split('\n').at(-1)).toMatch(new RegExp(
        `^clusterize: Start failed: worker \\d+ \\(pid \\d+\\) exited with code 1 before it was ready: could not listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE; 5 workers in a row failed to start \\[ERR_CLUSTERIZE_START_FAILED\\]$`));
    } finally {
      await holder.stop('SIGKILL');
    }
  }, 20_000);

  it('startCluster() rejects with ERR_CLUSTERIZE_START_FAILED and leaves no worker behind', async () => {
    const running = createApi('A throw');
    await expect(running.cluster.start()).rejects.toMatchObject({ code: 'ERR_CLUSTERIZE_START_FAILED' });
    await until(() => running.cluster.workers.length === 0, 5_000, 'every worker gone');
    expect(running.cluster.running).toBe(false);
  });

  it('after the cluster was ready once, crashes back off and it never gives up', async () => {
    const running = await startApi('A', { maxRestartDelay: 400 });
    running.deploy('A throw');
    const survivor = running.cluster.workers[1]!.pid;
    process.kill(running.cluster.workers[0]!.pid!, 'SIGKILL');
    await until(() => running.log.filter((line) => /starting a replacement in/.test(line)).length >= 7, 15_000, 'seven restarts');
    const delays = running.log.join('\n').matchAll(/starting a replacement in (\d+) ms/g);
    expect([...delays].map((match) => Number(match[1])).slice(0, 5)).toEqual([100, 200, 400, 400, 400]);
    expect(running.cluster.running).toBe(true);
    expect(pidOf((await request(portOf(running.cluster))).body)).toBe(survivor);
  }, 30_000);
});

describe('heartbeats', () => {
  it('a primary that stalls for 1.5 s (SIGSTOP) recycles no worker with heartbeatTimeout 1000', async () => {
    const started = await startCli('release-app.mjs', ['--workers', '2', '--heartbeat-timeout', '1000'], { RELEASE_FILE: releaseFile('A') });
    cli = started;
    const { port } = started;
    const before = await workerPids(port, 2);
    process.kill(cli.child.pid!, 'SIGSTOP');
    const stoppedAt = Date.now();
    await until(() => Date.now() - stoppedAt >= 1_500, 3_000, 'the stall');
    process.kill(cli.child.pid!, 'SIGCONT');
    // Three heartbeat timeouts after the stall: a false "hung" would have shown by now.
    const resumedAt = Date.now();
    await until(() => Date.now() - resumedAt >= 3_000, 5_000, 'three heartbeat timeouts');
    expect(cli.output()).not.toMatch(/heartbeat/);
    expect(await workerPids(port, 2)).toEqual(before);
  }, 20_000);

  it('heartbeatTimeout 0 never recycles a worker whose event loop is blocked', async () => {
    const running = await startApi('A', { heartbeatTimeout: 0 });
    const before = running.cluster.workers.map((worker) => worker.pid);
    const reply = await request(portOf(running.cluster), '/block?ms=2500');
    expect(reply.status).toBe(200);
    expect(running.log.join('\n')).not.toMatch(/heartbeat/);
    expect(running.cluster.workers.map((worker) => worker.pid)).toEqual(before);
  });
});

describe('signals', () => {
  it('SIGHUP, a new release, SIGHUP again during the reload: every worker runs the last release', async () => {
    const file = releaseFile('A');
    const started = await startCli('release-app.mjs', ['--workers', '2'], { RELEASE_FILE: file });
    cli = started;
    const { port } = started;
    writeFileSync(file, 'B slow=600');
    cli.child.kill('SIGHUP');
    await cli.waitFor(/SIGHUP received/);
    writeFileSync(file, 'C');
    cli.child.kill('SIGHUP');
    await cli.waitForCount(/reload complete/, 2, 20_000);
    const pids = await workerPids(port, 2);
    const replies = await Promise.all(Array.from({ length: 20 }, () => request(port)));
    const releases = new Set(replies.map((reply) => (JSON.parse(reply.body) as { release: string }).release));
    expect(pids.size).toBe(2);
    expect([...releases]).toEqual(['C']);
  }, 30_000);

  it('--reload-signal SIGUSR2: SIGUSR2 reloads every worker to the new release', async () => {
    const file = releaseFile('A');
    const started = await startCli('release-app.mjs', ['--workers', '2', '--reload-signal', 'SIGUSR2'], { RELEASE_FILE: file });
    cli = started;
    const before = await workerPids(started.port, 2);
    writeFileSync(file, 'B');
    cli.child.kill('SIGUSR2');
    await cli.waitFor(/SIGUSR2 received; reloading workers one by one/);
    await cli.waitFor(/reload complete/, 20_000);
    const after = await workerPids(started.port, 2);
    expect([...after].filter((pid) => before.has(pid))).toEqual([]);
    const replies = await Promise.all(Array.from({ length: 10 }, () => request(started.port)));
    expect(new Set(replies.map((reply) => (JSON.parse(reply.body) as { release: string }).release))).toEqual(new Set(['B']));
  }, 30_000);

  it('SIGHUP then SIGTERM: exit 0, and no "reload failed" line', async () => {
    const file = releaseFile('A');
    cli = await startCli('release-app.mjs', ['--workers', '2'], { RELEASE_FILE: file });
    writeFileSync(file, 'B slow=1000');
    cli.child.kill('SIGHUP');
    await cli.waitFor(/SIGHUP received/);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.output()).not.toMatch(/reload failed/i);
  });
});
