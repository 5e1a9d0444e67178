// The admin server and cluster-wide metrics: what a Prometheus scrape, a load balancer's
// probe and an operator's `clusterize status` see of a running cluster.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, fixture, request, run, startCli, within, type Started } from './helpers.ts';

const APP = 'metrics-app.mjs';

/** Starts `clusterize` with an admin server on a free loopback port; returns both ports. */
async function startWithAdmin(script: string, args: string[] = []) {
  const proc = await startCli(script, ['--workers', '2', '--policy', 'round-robin', '--admin-port', '0', ...args]);
  const admin = Number((await proc.waitFor(/admin server on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
  return { ...proc, admin };
}

/** The value of one sample line (`name{labels} value`) in a Prometheus text exposition. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Asks /metrics until `done` holds for it; rejects after `ms` with the last text. */
async function metricsUntil(admin: number, done: (text: string) => boolean, ms = 10_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const { body } = await request(admin, '/metrics');
    if (done(body)) return body;
    if (Date.now() > deadline) throw new Error(`metrics did not reach the expected state within ${ms} ms:\n${body}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Sends `count` /work requests; returns how many each worker pid answered. */
async function work(port: number, count: number): Promise<Map<number, number>> {
  const byPid = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const pid = (JSON.parse((await request(port, '/work')).body) as { pid: number }).pid;
    byPid.set(pid, (byPid.get(pid) ?? 0) + 1);
  }
  return byPid;
}

describe('a cluster with an admin server', () => {
  let cluster: Started & { admin: number };
  const N = 10;
  let served: Map<number, number>;

  beforeAll(async () => {
    cluster = await startWithAdmin(APP, ['--metrics-timeout', '1000']);
    served = await work(cluster.port, N);
  });
  afterAll(() => cluster?.stop('SIGKILL'));

  it('sums every worker\'s prom-client counter and histogram on /metrics', async () => {
    expect(served.size).toBe(2);
    const reply = await request(cluster.admin, '/metrics');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(sample(reply.body, 'app_requests_total')).toBe(N);
    expect(sample(reply.body, 'app_request_seconds_count')).toBe(N);
    expect(sample(reply.body, 'app_request_seconds_bucket{le="0.1"}')).toBe(N);
    expect(sample(reply.body, 'clusterize_workers{state="ready"}')).toBe(2);
    expect(sample(reply.body, 'clusterize_metrics_missing_workers')).toBe(0);
  });

  it('serves the same aggregated text to clusterMetrics() in an app route', async () => {
    const reply = await request(cluster.port, '/cluster-metrics');
    expect(reply.status).toBe(200);
    expect(sample(reply.body, 'app_requests_total')).toBe(N);
    expect(sample(reply.body, 'app_request_seconds_count')).toBe(N);
    expect(sample(reply.body, 'clusterize_workers{state="ready"}')).toBe(2);
  });

  it('reports each worker\'s memory, loop delay and connections (as of its heartbeat)', async () => {
    const text = await metricsUntil(cluster.admin, (body) =>
      (sample(body, 'clusterize_worker_connections_total{worker="1"}') ?? 0) + (sample(body, 'clusterize_worker_connections_total{worker="2"}') ?? 0) >= N);
    for (const id of [1, 2]) {
      expect(sample(text, `clusterize_worker_resident_memory_bytes{worker="${id}"}`)).toBeGreaterThan(1024 * 1024);
      expect(sample(text, `clusterize_worker_event_loop_delay_seconds{worker="${id}"}`)).toBeGreaterThanOrEqual(0);
      expect(sample(text, `clusterize_worker_connections{worker="${id}"}`)).toBeGreaterThanOrEqual(0);
    }
  });

  it('answers /livez, /workers, 404 for anything else and 405 for anything but GET, on 127.0.0.1', async () => {
    expect((await request(cluster.admin, '/livez')).status).toBe(200);
    expect((await request(cluster.admin, '/readyz')).status).toBe(200);
    const workers = JSON.parse((await request(cluster.admin, '/workers')).body) as Record<string, unknown>[];
    expect(workers.map((worker) => worker.pid).sort()).toEqual([...served.keys()].sort());
    for (const worker of workers) {
      expect(worker).toMatchObject({ state: 'ready', startedAt: expect.any(Number), readyAt: expect.any(Number), connections: expect.any(Number) });
      expect(Object.keys(worker).sort()).toEqual(['connections', 'id', 'inspector', 'loopDelay', 'pid', 'readyAt', 'rss', 'slot', 'startedAt', 'state']);
    }
    expect((await request(cluster.admin, '/')).status).toBe(404);
    expect((await request(cluster.admin, '/work')).status).toBe(404);
    const post = await request(cluster.admin, '/metrics', { method: 'POST', body: '' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET');
    await expect(request(cluster.admin, '/livez', { host: '::1' }).catch((error: NodeJS.ErrnoException) => error.code)).resolves.toMatch(/^E[A-Z]+$/);
  });

  it('clusterize status prints the worker table with both pids', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'status', '--admin-port', String(cluster.admin)]);
    const [header, ...rows] = stdout.trimEnd().split('\n');
    expect(header).toMatch(/^id +slot +pid +state +uptime +rss +loop delay +connections$/);
    expect(rows).toHaveLength(2);
    for (const pid of served.keys()) expect(stdout).toMatch(new RegExp(`^\\d+ +[01] +${pid} +ready +\\d+s +[\\d.]+ MB +[\\d.]+ ms +\\d+$`, 'm'));
  });

  // Last: it leaves one worker blocked for a while.
  it('leaves out a worker that does not answer in time, counts it, and still answers', async () => {
    const blocked = (JSON.parse((await request(cluster.port, '/block?ms=5000')).body) as { pid: number }).pid;
    await cluster.waitFor(new RegExp(`blocking ${blocked}`));
    const started = Date.now();
    // The worker is blocked for 5 s: had the scrape waited for it, it would not be missing.
    const reply = await within(request(cluster.admin, '/metrics'), 10_000, 'the scrape');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(reply.status).toBe(200);
    expect(sample(reply.body, 'clusterize_metrics_missing_workers')).toBe(1);
    expect(sample(reply.body, 'app_requests_total')).toBe(N - served.get(blocked)!);
  });
});

describe('restart and reload counters, readiness on SIGTERM', () => {
  let cluster: Started & { admin: number };
  beforeAll(async () => {
    cluster = await startWithAdmin(APP, ['--shutdown-timeout', '5000']);
  });
  afterAll(() => cluster?.stop('SIGKILL'));

  it('a crash moves restarts{reason="crash"} by one, a SIGHUP reload moves reloads{result="success"} by one', async () => {
    let text = await metricsUntil(cluster.admin, () => true);
    expect(sample(text, 'clusterize_worker_restarts_total{reason="crash"}')).toBe(0);
    expect(sample(text, 'clusterize_reloads_total{result="success"}')).toBe(0);
    await request(cluster.port, '/crash');
    text = await metricsUntil(cluster.admin, (body) => sample(body, 'clusterize_worker_restarts_total{reason="crash"}') === 1
      && sample(body, 'clusterize_workers{state="ready"}') === 2);
    cluster.child.kill('SIGHUP');
    await cluster.waitFor(/reload complete/);
    text = await metricsUntil(cluster.admin, (body) => sample(body, 'clusterize_workers{state="ready"}') === 2);
    expect(sample(text, 'clusterize_reloads_total{result="success"}')).toBe(1);
    expect(sample(text, 'clusterize_reloads_total{result="failure"}')).toBe(0);
    for (const reason of ['crash', 'hung', 'memory', 'age']) {
      expect(sample(text, `clusterize_worker_restarts_total{reason="${reason}"}`)).toBe(reason === 'crash' ? 1 : 0);
    }
  });

  it('/readyz turns 503 right after SIGTERM while in-flight requests still finish', async () => {
    expect((await request(cluster.admin, '/readyz')).status).toBe(200);
    const slow = request(cluster.port, '/slow?ms=1500');
    // The request has reached a worker once the worker reports an open connection.
    await metricsUntil(cluster.admin, (body) => [1, 2, 3, 4, 5, 6].some((id) => (sample(body, `clusterize_worker_connections{worker="${id}"}`) ?? 0) > 0));
    cluster.child.kill('SIGTERM');
    const sentAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - sentAt < 1_000) status = (await request(cluster.admin, '/readyz')).status;
    expect(status).toBe(503);
    expect((await request(cluster.admin, '/livez')).status).toBe(200);
    expect((await slow).status).toBe(200);
    expect((await cluster.exited).code).toBe(0);
  });
});

describe('app counters across reloads and crashes', () => {
  let cluster: Started & { admin: number };
  beforeAll(async () => {
    cluster = await startWithAdmin(APP);
  });
  afterAll(() => cluster?.stop('SIGKILL'));

  /** /metrics once both workers are ready and none of `gone` is among them. */
  async function metricsWithTwoReady(gone: number[] = []): Promise<string> {
    for (const deadline = Date.now() + 10_000; ;) {
      const workers = JSON.parse((await request(cluster.admin, '/workers')).body) as { pid: number; state: string }[];
      if (workers.filter((worker) => worker.state === 'ready' && !gone.includes(worker.pid)).length === 2 && workers.length === 2) {
        return (await request(cluster.admin, '/metrics')).body;
      }
      if (Date.now() > deadline) throw new Error(`two ready workers did not happen within 10 s: ${JSON.stringify(workers)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  const counts = (text: string) => [
    sample(text, 'app_requests_total'), sample(text, 'app_request_seconds_count'), sample(text, 'app_request_seconds_bucket{le="0.1"}'),
  ];

  it('a reload keeps what the old workers counted, also after the last scrape, and counts on from there', async () => {
    await work(cluster.port, 10);
    expect(counts((await request(cluster.admin, '/metrics')).body)).toEqual([10, 10, 10]);
    // Not scraped before the reload: the old workers report them as they exit.
    await work(cluster.port, 6);
    cluster.child.kill('SIGHUP');
    await cluster.waitFor(/reload complete/);
    expect(counts(await metricsWithTwoReady())).toEqual([16, 16, 16]);
    await work(cluster.port, 4);
    expect(counts((await request(cluster.admin, '/metrics')).body)).toEqual([20, 20, 20]);
  });

  it('a worker killed with SIGKILL keeps what it had counted at the last scrape', async () => {
    const served = await work(cluster.port, 10);
    expect(served.size).toBe(2);
    const scraped = counts((await request(cluster.admin, '/metrics')).body);
    expect(scraped[0]).toBeGreaterThanOrEqual(10);
    const killed = [...served.keys()][0]!;
    process.kill(killed, 'SIGKILL');
    await cluster.waitFor(new RegExp(`pid ${killed}\\) was killed by SIGKILL`));
    expect(counts(await metricsWithTwoReady([killed]))).toEqual(scraped);
    await work(cluster.port, 5);
    expect(counts((await request(cluster.admin, '/metrics')).body)).toEqual(scraped.map((value) => value! + 5));
  });
});

describe('an app without prom-client', () => {
  it('is served, and /metrics has clusterize\'s own metrics only', async () => {
    // Outside the repository, where no node_modules holds prom-client.
    const dir = mkdtempSync(join(tmpdir(), 'clusterize-no-prom-'));
    copyFileSync(fixture('hello.mjs'), join(dir, 'hello.mjs'));
    const proc = run([CLI, '--workers', '2', '--admin-port', '0', join(dir, 'hello.mjs')]);
    try {
      const admin = Number((await proc.waitFor(/admin server on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
      const port = Number((await proc.waitFor(/workers ready on \S+:(\d+)/))[1]);
      expect((await request(port, '/')).status).toBe(200);
      const reply = await request(admin, '/metrics');
      expect(reply.status).toBe(200);
      expect(sample(reply.body, 'clusterize_workers{state="ready"}')).toBe(2);
      expect(reply.body.split('\n').filter((line) => line !== '' && !/^(# (HELP|TYPE) )?clusterize_/.test(line))).toEqual([]);
      expect(proc.output()).toMatch(/clusterize: prom-client cannot be loaded from .*hello\.mjs; metrics are clusterize's own only/);
    } finally {
      await proc.stop('SIGKILL');
    }
  });
});

describe('clusterMetrics() outside a cluster', () => {
  it("returns the process's own prom-client registry", async () => {
    const script = [
      "import client from 'prom-client';",
      "import { clusterMetrics } from '@clusterize/core';",
      "new client.Counter({ name: 'lone_total', help: 'x' }).inc(3);",
      'process.stdout.write(await clusterMetrics());',
    ].join('\n');
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: fixture('.') });
    expect(sample(stdout, 'lone_total')).toBe(3);
  });
});

describe('the admin port', () => {
  it('taken: the CLI names it and exits 1 before starting workers', async () => {
    const first = await startWithAdmin('hello.mjs');
    try {
      const second = run([CLI, '--workers', '1', '--admin-port', String(first.admin), fixture('hello.mjs')]);
      expect((await second.exited).code).toBe(1);
      expect(second.output()).toMatch(new RegExp(`clusterize: Admin server cannot listen: 127\\.0\\.0\\.1:${first.admin}: EADDRINUSE \\[ERR_CLUSTERIZE_ADMIN_LISTEN\\]`));
      expect(second.output()).not.toMatch(/starting 1 worker[\s\S]*ready on/);
    } finally {
      await first.stop('SIGKILL');
    }
  });

  it('clusterize status with nothing listening says so and exits 1', async () => {
    const result = await promisify(execFile)(process.execPath, [CLI, 'status', '--admin-port', '1']).catch((error: { code: number; stderr: string }) => error);
    expect(result).toMatchObject({ code: 1, stderr: expect.stringMatching(/ERR_CLUSTERIZE_ADMIN_UNREACHABLE/) });
    // Where a cluster does run, the host may be what differs: the hint names both flags.
    expect(result.stderr).toContain('(is the cluster running with --admin-port 1 --admin-host 127.0.0.1?)');
  });
});
