import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { descendants, fixture, request, startCli, startPrimary, until, type Started } from './helpers.ts';
import { keepAliveLoadWhile } from './load.ts';

// Libraries written for node:cluster, unchanged, with the real packages: each app is a
// fixture under fixtures/compat/, its primary half a --primary-module beside it.

let cli: Started | undefined;

afterEach(async () => {
  await cli?.close();
  cli = undefined;
});

/**
 * `clusterize --workers 2 --policy round-robin [--primary-module compat/M]... compat/APP`:
 * round-robin hands new connections to the two workers in turn, so a few requests reach both.
 */
function start(app: string, primaryModules: string[] = []): Promise<Started> {
  const modules = primaryModules.flatMap((name) => ['--primary-module', fixture(`compat/${name}`)]);
  return startCli(`compat/${app}`, ['--workers', '2', '--policy', 'round-robin', ...modules]);
}

/** Sends SIGHUP and resolves once the primary says the reload is complete. */
async function reload(running: Started): Promise<void> {
  const before = running.output().split('reload complete').length;
  running.child.kill('SIGHUP');
  await running.waitFor(new RegExp(`(reload complete[\\s\\S]*){${before}}`), 20_000);
}

/** The distinct pids that answer `count` requests, each on a new connection. */
async function pidsAnswering(port: number, count: number): Promise<Set<number>> {
  const pids = new Set<number>();
  for (let i = 0; i < count; i++) pids.add((JSON.parse((await request(port)).body) as { pid: number }).pid);
  return pids;
}

describe('express-rate-limit with @express-rate-limit/cluster-memory-store', () => {
  it('a limit of 10 lets exactly 10 of 40 requests through, the 40 spread over both workers', async () => {
    cli = await start('rate-limit-app.mjs', ['rate-limit-primary.mjs']);
    const replies = await Promise.all(Array.from({ length: 40 }, () => request(cli!.port)));
    const statuses: Record<number, number> = {};
    for (const { status } of replies) statuses[status] = (statuses[status] ?? 0) + 1;
    expect(statuses).toEqual({ 200: 10, 429: 30 });
    expect(new Set(replies.map(({ headers }) => headers['x-worker-id']))).toEqual(new Set(['1', '2']));
  });
});

interface Client {
  socket: Socket;
  /** The worker the client's current connection landed on. */
  worker: number | undefined;
  news: number[];
}

function connect(port: number): Client {
  // Reconnects soon after a drain closes its WebSocket (socket.io's default waits about 1 s).
  const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
  const client: Client = { socket, worker: undefined, news: [] };
  socket.on('welcome', (worker: number) => { client.worker = worker; });
  socket.on('disconnect', () => { client.worker = undefined; });
  socket.on('news', (n: number) => client.news.push(n));
  return client;
}

/** Asks one worker to `io.emit('news', n)`; resolves with how many clients got it within 3 s. */
async function emitReaches(port: number, clients: Client[], n: number): Promise<number> {
  const { status } = await request(port, `/emit?n=${n}`);
  expect(status).toBe(200);
  const reached = () => clients.filter(({ news }) => news.includes(n)).length;
  await until(() => reached() === clients.length, 3_000, `news ${n} reaching every client`).catch(() => {});
  return reached();
}

describe('socket.io with @socket.io/cluster-adapter, setupPrimary() in a --primary-module', () => {
  it('io.emit from one worker reaches 10 of 10 clients, and again after a reload', async () => {
    cli = await start('socketio-app.mjs', ['socketio-primary.mjs']);
    const clients = Array.from({ length: 10 }, () => connect(cli!.port));
    try {
      await until(() => clients.every(({ worker }) => worker !== undefined), 10_000, 'every client connecting');
      expect(new Set(clients.map(({ worker }) => worker))).toEqual(new Set([1, 2]));
      expect(await emitReaches(cli.port, clients, 1)).toBe(10);

      await reload(cli);
      // Each client of an old worker got a close frame and reconnected to a new one.
      await until(() => clients.every(({ worker }) => worker !== undefined && worker > 2), 10_000, 'every client reconnecting to a new worker');
      expect(await emitReaches(cli.port, clients, 2)).toBe(10);
    } finally {
      for (const { socket } of clients) socket.disconnect();
    }
  });
});

describe("prom-client's AggregatorRegistry in a --primary-module", () => {
  it("clusterMetrics() on the primary's own port answers with both workers' series", async () => {
    cli = await start('metrics-app.mjs', ['metrics-primary.mjs']);
    const metricsPort = Number((await cli.waitFor(/cluster metrics on port (\d+)/))[1]);
    const served: Record<string, number> = {};
    for (let i = 0; i < 10; i++) {
      const { worker } = JSON.parse((await request(cli.port)).body) as { worker: string };
      served[worker] = (served[worker] ?? 0) + 1;
    }
    expect(Object.keys(served).sort()).toEqual(['1', '2']);
    const { status, body } = await request(metricsPort, '/metrics');
    expect(status).toBe(200);
    const series = Object.fromEntries([...body.matchAll(/^app_requests_total\{worker="(\d+)"\} (\d+)$/gm)].map(([, worker, n]) => [worker, Number(n)]));
    expect(series).toEqual(served);
  });
});

describe('a throng app (it forks when cluster.isWorker is false)', () => {
  it('runs flat: two worker processes serve, none has a child, and a reload under keep-alive load loses nothing', async () => {
    cli = await start('throng-app.mjs');
    const primary = cli.child.pid!;
    // Every process below the primary serves: two workers, no nested cluster under them.
    const flat = async () => {
      const below = new Set(descendants(primary));
      expect(below.size).toBe(2);
      expect(await pidsAnswering(cli!.port, 10)).toEqual(below);
    };
    await flat();
    const result = await keepAliveLoadWhile(cli.port, reload(cli), { connections: 10, maxSeconds: 20 });
    expect(result.requests).toBeGreaterThan(0);
    expect({ errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx }).toEqual({ errors: 0, timeouts: 0, non2xx: 0 });
    await flat();
  });
});

interface Identity {
  pid: number;
  workerId: number;
  runtimeId: number;
  [key: string]: unknown;
}

interface WorkersAnswer {
  isPrimary: boolean;
  asker: number;
  workers: { key: string; id: number; pid: number; connected: boolean; dead: boolean }[];
}

/** What node:cluster shows in each of the two workers, and the primary's cluster.workers as it reports it. */
async function identities(running: Started): Promise<void> {
  const seen = [JSON.parse((await request(running.port)).body) as Identity, JSON.parse((await request(running.port)).body) as Identity];
  for (const identity of seen) {
    expect(identity).toEqual({
      pid: identity.pid,
      isWorker: true,
      isPrimary: false,
      isMaster: false,
      sameForRequire: true,
      primaryOnly: [],
      workerId: identity.runtimeId,
      runtimeId: identity.runtimeId,
      isClusterWorker: true,
      ownProcess: true,
      connected: true,
      dead: false,
      udpPort: expect.any(Number) as number,
    });
  }
  expect(seen.map(({ workerId }) => workerId).sort()).toEqual([1, 2]);
  const answer = JSON.parse((await request(running.port, '/workers')).body) as WorkersAnswer;
  expect(answer.isPrimary).toBe(true);
  expect([1, 2]).toContain(answer.asker);
  expect(answer.workers.sort((a, b) => a.id - b.id)).toEqual(seen.sort((a, b) => a.workerId - b.workerId).map(({ workerId, pid }) => ({
    key: String(workerId), id: workerId, pid, connected: true, dead: false,
  })));
}

describe('node:cluster as a clusterize worker and primary see it', () => {
  it('in a worker: isWorker, cluster.worker.id is currentWorker().id; the primary lists both workers in cluster.workers (CLI)', async () => {
    cli = await start('identity-app.mjs', ['identity-primary.mjs']);
    await identities(cli);
  });

  it('the same through the API, with the primaryModules option', async () => {
    cli = await startPrimary('compat/identity-app.mjs', { workers: 2, policy: 'round-robin', primaryModules: [fixture('compat/identity-primary.mjs')] });
    await identities(cli);
  });
});
