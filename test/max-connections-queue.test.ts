// When every worker's server is at maxConnections, a forwarded connection waits in the
// primary for a worker with room (HAProxy's maxconn queue), up to --queue-timeout.
// fixtures/held-requests.mjs: maxConnections = 1; `/hold` keeps its response open until
// the worker gets SIGUSR2.
import { afterEach, describe, expect, it } from 'vitest';
import { request, startCli, within, type Reply, type Started } from './helpers.ts';

let cluster: Started | undefined;
let busy: number[] = [];
afterEach(async () => {
  // Held responses answered first, so no client is left hanging on a killed worker.
  for (const pid of busy.splice(0)) release(pid);
  await cluster?.stop('SIGKILL');
  cluster = undefined;
});

function release(pid: number): void {
  try {
    process.kill(pid, 'SIGUSR2');
  } catch {
    // Already gone.
  }
}

interface Cluster {
  running: Started;
  admin: number;
  /** The workers, each holding one `/hold` request: both are full. */
  holders: number[];
  holds: Promise<Reply>[];
}

async function startFull(policy: string, args: string[] = []): Promise<Cluster> {
  const running = await startCli('held-requests.mjs', ['--policy', policy, '--workers', '2', '--admin-port', '0', ...args]);
  cluster = running;
  const admin = Number((await running.waitFor(/admin server on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
  await running.waitForCount(/^listening \d+$/m, 2);
  // One at a time: the second /hold finds the first worker full and goes to the other.
  const holds = [request(running.port, '/hold')];
  await running.waitForCount(/^holding \d+$/m, 1);
  holds.push(request(running.port, '/hold'));
  const holders = (await running.waitForCount(/^holding (\d+)$/m, 2)).map((match) => Number(match[1]));
  busy = [...holders];
  expect(new Set(holders).size).toBe(2);
  return { running, admin, holders, holds };
}

/** The value of one sample line (`name{labels} value`) in a Prometheus text exposition. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Asks /metrics until `series` reads `value`; rejects after 10 s with the last text. */
async function metricReaches(admin: number, series: string, value: number): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { body } = await request(admin, '/metrics');
    if (sample(body, series) === value) return body;
    if (Date.now() > deadline) throw new Error(`${series} did not reach ${value} within 10 s:\n${body}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const QUEUED = 'clusterize_queued_connections_total';
const closed = (reason: string) => `clusterize_closed_connections_total{reason="${reason}"}`;
const pidOf = (reply: Reply) => (JSON.parse(reply.body) as { pid: number }).pid;

describe('a connection every worker turns away at maxConnections', () => {
  it('waits in the primary and is served once a worker has room', async () => {
    const { running, admin, holders, holds } = await startFull('round-robin', ['--queue-timeout', '60000']);
    const waiting = request(running.port, '/');
    const metrics = await metricReaches(admin, QUEUED, 1);
    expect(sample(metrics, closed('full'))).toBe(0);
    // Its hold answered and its connection closed, the first worker has room again; the limit stays.
    release(holders[0]!);
    const reply = await within(waiting, 10_000, 'the waiting request answered');
    expect(reply.status).toBe(200);
    expect(pidOf(reply)).toBe(holders[0]);
    release(holders[1]!);
    for (const hold of holds) expect((await hold).status).toBe(200);
    expect(running.output()).not.toMatch(/clusterize: closed/);
  });

  it('the one that waited longest is served first', async () => {
    const { running, admin, holders } = await startFull('round-robin', ['--queue-timeout', '60000']);
    const order: string[] = [];
    const first = request(running.port, '/').then((reply) => { order.push('first'); return reply; });
    await metricReaches(admin, QUEUED, 1);
    const second = request(running.port, '/').then((reply) => { order.push('second'); return reply; });
    await metricReaches(admin, QUEUED, 2);
    // One worker with room for one connection at a time: the second waits for the first to close.
    release(holders[0]!);
    const replies = await within(Promise.all([first, second]), 10_000, 'both waiting requests answered');
    expect(replies.map((reply) => reply.status)).toEqual([200, 200]);
    expect(order).toEqual(['first', 'second']);
  });

  it('sticky: a client whose worker is full goes to the first worker with room, as it went to any other before', async () => {
    // Every request comes from 127.0.0.1: the first /hold reaches its worker, the second finds it full and goes on.
    const { running, admin, holders } = await startFull('sticky', ['--queue-timeout', '60000']);
    const [pinned, other] = holders as [number, number];
    const waiting = request(running.port, '/');
    await metricReaches(admin, QUEUED, 1);
    release(other);
    const reply = await within(waiting, 10_000, 'the waiting request answered');
    expect(pidOf(reply)).toBe(other);
    expect(pidOf(reply)).not.toBe(pinned);
  });

  it('is closed once --queue-timeout runs out, and counted in /metrics', async () => {
    const { running, admin } = await startFull('round-robin', ['--queue-timeout', '300']);
    await expect(within(request(running.port, '/'), 10_000, 'the waiting connection closed')).rejects.toThrow(/ECONNRESET|socket hang up/);
    const metrics = await metricReaches(admin, closed('queueTimeout'), 1);
    expect(sample(metrics, QUEUED)).toBe(1);
    expect(sample(metrics, closed('full'))).toBe(0);
    await running.waitFor(/^clusterize: closed 1 connection: every worker is at maxConnections and none had room within 300 ms$/m, 5_000);
  });
});
