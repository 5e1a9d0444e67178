// A proxy opens its pool of persistent connections together, and keeps it for hours. Under
// the default policy the kernel gives such a burst to whichever worker has the CPU; a
// worker past its share passes new connections back to the primary, which places each on
// the worker with the fewest, so the pool is split evenly and stays that way.
import http from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { request, sleep, startCli, startPrimary, until, type Started } from './helpers.ts';

const POOL = 20;
let cluster: Started | undefined;
let admin = 0;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

interface Served {
  statuses: Map<number, number>;
  /** Connections per worker pid (each counted once, by the worker that answered on it). */
  connections: Map<number, number>;
  requests: Map<number, number>;
}

const add = (map: Map<number, number>, key: number) => map.set(key, (map.get(key) ?? 0) + 1);

async function start(policy: string): Promise<Started> {
  const started = await startCli('hello.mjs', ['--workers', '2', '--policy', policy, '--admin-port', '0'], { PORT: '0' });
  admin = Number((await started.waitFor(/admin server on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
  return started;
}

/** Until the primary has heard that every connection closed (a proxy reopens its pool later than at once). */
async function settled(): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const workers = JSON.parse((await request(admin, '/workers')).body) as { connections: number }[];
    if (workers.every((worker) => worker.connections === 0)) return;
    if (Date.now() > deadline) throw new Error(`connections still open after 10 s: ${JSON.stringify(workers)}`);
    await sleep(20);
  }
}

/** Until the `workers` ready workers hold the whole pool, their open connections differing by at most 2 (the primary's view, from /workers). */
async function balanced(ms: number, what: string, workers = 2, pool = POOL): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const report = JSON.parse((await request(admin, '/workers')).body) as { connections: number; state: string }[];
    const counts = report.filter((worker) => worker.state === 'ready').map((worker) => worker.connections);
    const sum = counts.reduce((a, b) => a + b, 0);
    if (counts.length === workers && sum === pool && Math.max(...counts) - Math.min(...counts) <= 2) return;
    if (Date.now() > deadline) throw new Error(`not balanced ${ms} ms ${what}: ${JSON.stringify(report)}`);
    await sleep(50);
  }
}

/**
 * Opens `size` keep-alive connections in one tick, as a proxy fills its pool, and sends
 * requests over them, one at a time on each, until `done()`; only responses while
 * `counting()` are counted.
 */
async function runPool(port: number, size: number, done: (sent: number) => boolean, counting: () => boolean = () => true): Promise<Served> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: size });
  const served: Served = { statuses: new Map(), connections: new Map(), requests: new Map() };
  const seen = new WeakSet<Socket>();
  let sent = 0;
  const loop = () => new Promise<void>((resolve, reject) => {
    const next = () => {
      if (done(sent)) return resolve();
      sent++;
      http.get({ port, host: '127.0.0.1', agent, path: '/' }, (res) => {
        const socket = res.socket;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => { body += chunk; });
        res.on('end', () => {
          if (counting()) {
            const pid = (JSON.parse(body) as { pid: number }).pid;
            add(served.statuses, res.statusCode ?? 0);
            add(served.requests, pid);
            if (!seen.has(socket)) {
              seen.add(socket);
              add(served.connections, pid);
            }
          }
          next();
        });
      }).on('error', reject);
    };
    next();
  });
  await Promise.all(Array.from({ length: size }, loop));
  agent.destroy();
  return served;
}

describe.each(['shared', 'reuseport'])('a pool of %s keep-alive connections opened together', (policy) => {
  it(`is split about evenly over 2 workers within 5 s, every time (4 pools in a row)`, async () => {
    cluster = await start(policy);
    for (let round = 0; round < 4; round++) {
      await settled();
      let counting = false;
      let counted = 0;
      const running = runPool(cluster.port, POOL, () => counted >= 600, () => counting && ++counted > 0);
      // Before, whole pools stayed on one worker (20/0, 19/1) in about half the rounds.
      await balanced(5_000, `after pool ${round} opened`);
      counting = true;
      const served = await running;
      const counts = [...served.connections.values()];
      expect([...served.statuses.keys()]).toEqual([200]);
      expect(counts.length, `round ${round}: ${counts.join('/')}`).toBe(2);
      expect(Math.min(...counts), `round ${round}: ${counts.join('/')}`).toBeGreaterThanOrEqual(POOL / 2 - 3);
    }
    // The balancing shows in the metrics: connections passed back to the primary, or pools rebalanced.
    const metrics = (await request(admin, '/metrics')).body;
    const total = (name: string) => [...metrics.matchAll(new RegExp(`^${name}\\{worker="\\d+"\\} (\\d+)$`, 'gm'))].reduce((sum, match) => sum + Number(match[1]), 0);
    expect(total('clusterize_worker_connections_passed_back_total') + total('clusterize_worker_shed_requests_total')).toBeGreaterThan(0);
  });
});

describe('after a SIGHUP reload under a busy pool (shared)', () => {
  it('the pool ends split about evenly over the new workers', async () => {
    cluster = await start('shared');
    const pids = new Set<number>();
    let reloaded = false;
    let before = 0;
    let after = 0;
    const running = runPool(cluster.port, POOL, () => after >= 1_500, () => {
      if (reloaded) after++;
      else before++;
      return reloaded;
    });
    // The reload starts while the pool is busy.
    await until(() => before >= 200, 10_000, 'the pool to be busy');
    cluster.child.kill('SIGHUP');
    await cluster.waitFor(/clusterize: reload complete/, 30_000);
    // Within 10 s of the reload the workers are even again (rebalancing), then counted.
    await balanced(10_000, 'after the reload');
    reloaded = true;
    const served = await running;
    for (const pid of served.connections.keys()) pids.add(pid);
    const counts = [...served.connections.values()];
    expect([...served.statuses.keys()]).toEqual([200]);
    expect(pids.size, `connections per worker ${counts.join('/')}`).toBe(2);
    expect(Math.min(...counts), `connections per worker ${counts.join('/')}`).toBeGreaterThanOrEqual(POOL / 2 - 3);
  });
});

describe('after a scale-up under a busy pool (shared)', () => {
  it('the new worker gets its share of the pool within 10 s', async () => {
    cluster = await startPrimary('hello.mjs', { workers: 2, admin: { port: 0 } }, { PORT: '0', SCALE_TO: '3' });
    admin = Number((await cluster.waitFor(/admin server on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
    let scaled = false;
    let counted = 0;
    const running = runPool(cluster.port, POOL + 1, () => counted >= 1_500, () => scaled && ++counted > 0);
    cluster.child.kill('SIGWINCH');
    await cluster.waitFor(/api: scaled to 3/);
    // 21 connections: 7 each once rebalanced; before, the new worker got none of the pool.
    await balanced(10_000, 'after scaling to 3', 3, POOL + 1);
    scaled = true;
    const served = await running;
    const counts = [...served.connections.values()];
    expect([...served.statuses.keys()]).toEqual([200]);
    expect(counts.length, `connections per worker ${counts.join('/')}`).toBe(3);
    expect(Math.min(...counts), `connections per worker ${counts.join('/')}`).toBeGreaterThanOrEqual(5);
  });
});
