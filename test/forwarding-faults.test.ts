import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRaw, getRequest, request, startCli, until, within, type RawConnection, type Started } from './helpers.ts';

let cluster: Started | undefined;
/** Workers a test stopped (SIGSTOP): continued before the cluster is killed, or they would linger stopped. */
const stopped = new Set<number>();
afterEach(async () => {
  for (const pid of stopped) signal(pid, 'SIGCONT');
  stopped.clear();
  await cluster?.stop('SIGKILL');
  cluster = undefined;
});

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

async function start(fixture: string, args: string[] = []): Promise<{ running: Started; pids: number[] }> {
  const running = await startCli(fixture, ['--policy', 'round-robin', '--workers', '2', ...args]);
  cluster = running;
  const pids = (await running.waitForCount(/^listening (\d+)/m, 2)).map((match) => Number(match[1]));
  return { running, pids };
}

const pidOf = (body: string) => (JSON.parse(body) as { pid: number }).pid;

/** The sum of the counts in the primary's `closed N connections: <reason>` lines. */
function closedCount(output: string, reason: string): { lines: number; total: number } {
  const pattern = new RegExp(`^clusterize: closed (\\d+) connections?: ${reason}`, 'gm');
  const counts = [...output.matchAll(pattern)].map((match) => Number(match[1]));
  return { lines: counts.length, total: counts.reduce((sum, count) => sum + count, 0) };
}

/** Opens `count` connections that send a request at once, `batch` at a time. */
async function openMany(port: number, count: number, batch = 200): Promise<RawConnection[]> {
  const clients: RawConnection[] = [];
  while (clients.length < count) {
    const wave = Array.from({ length: Math.min(batch, count - clients.length) }, () => connectRaw(port, getRequest('/', { connection: 'close' })));
    await Promise.all(wave.map((client) => new Promise((resolve) => {
      client.socket.once('connect', resolve);
      client.socket.once('close', resolve);
    })));
    clients.push(...wave);
  }
  return clients;
}

/** How many of `clients` got a 200 answer, and how many were closed without one. */
async function outcomes(clients: RawConnection[], ms: number): Promise<{ answered: number; closed: number }> {
  const settled = await within(Promise.allSettled(clients.map((client) => client.response())), ms, `${clients.length} connections settled`);
  const answered = settled.filter((result) => result.status === 'fulfilled' && result.value.status === 200).length;
  return { answered, closed: settled.length - answered };
}

describe('a worker whose server is at maxConnections (round-robin)', () => {
  it('turns a connection away and the primary gives it to the other worker', async () => {
    const { running } = await start('max-connections.mjs');
    const hold = request(running.port, '/hold');
    const holder = Number((await running.waitFor(/^holding (\d+)$/m))[1]);
    // Round-robin offers every other connection to the full worker first.
    for (let i = 0; i < 6; i++) {
      const reply = await within(request(running.port), 5_000, `request ${i} answered`);
      expect(reply.status).toBe(200);
      expect(pidOf(reply.body)).not.toBe(holder);
    }
    signal(holder, 'SIGUSR2');
    expect(pidOf((await hold).body)).toBe(holder);
    expect(running.output()).not.toMatch(/clusterize: closed/);
  });

  it('with --queue-timeout 0, closes a connection every worker turned away at once, and says so', async () => {
    const { running, pids } = await start('max-connections.mjs', ['--queue-timeout', '0']);
    const holds = [request(running.port, '/hold'), request(running.port, '/hold')];
    const holders = (await running.waitForCount(/^holding (\d+)$/m, 2)).map((match) => Number(match[1]));
    expect(new Set(holders)).toEqual(new Set(pids));
    await expect(within(request(running.port), 5_000, 'the refused connection closed')).rejects.toThrow(/ECONNRESET|socket hang up/);
    await running.waitFor(/^clusterize: closed 1 connection: every worker is at maxConnections$/m, 5_000);
    for (const pid of pids) signal(pid, 'SIGUSR2');
    for (const hold of holds) expect((await hold).status).toBe(200);
    expect((await request(running.port)).status).toBe(200);
  });
});

const FD_LIMIT = 256;

/** Leaves the worker without a free file descriptor (see fixtures/fd-starved.mjs). */
async function starve(running: Started, pid: number): Promise<void> {
  execFileSync('prlimit', ['--pid', String(pid), `--nofile=${FD_LIMIT}:${FD_LIMIT}`]);
  process.kill(pid, 'SIGUSR2');
  await running.waitFor(new RegExp(`^starved ${pid}$`, 'm'), 10_000);
}

describe('a worker that cannot receive the descriptor (NODE_HANDLE_NACK)', () => {
  it('the primary gives the connection to the other worker instead of waiting for it forever', async () => {
    const { running, pids } = await start('fd-starved.mjs', ['--heartbeat-timeout', '0']);
    const [starved, healthy] = pids as [number, number];
    await starve(running, starved);
    for (let i = 0; i < 6; i++) {
      const reply = await within(request(running.port), 5_000, `request ${i} answered`);
      expect(pidOf(reply.body)).toBe(healthy);
    }
    process.kill(starved, 'SIGUSR2');
    await running.waitFor(new RegExp(`^released descriptors ${starved}$`, 'm'));
    const served = new Set<number>();
    for (let i = 0; i < 4; i++) served.add(pidOf((await within(request(running.port), 5_000, 'answered after')).body));
    expect(served).toEqual(new Set(pids));
  });

  it('closes the connection when no worker can receive it, and says so', async () => {
    const { running, pids } = await start('fd-starved.mjs', ['--heartbeat-timeout', '0']);
    for (const pid of pids) await starve(running, pid);
    await expect(within(request(running.port), 5_000, 'the connection closed')).rejects.toThrow(/ECONNRESET|socket hang up/);
    await running.waitFor(/^clusterize: closed 1 connection: no worker could receive the descriptor/m, 5_000);
    for (const pid of pids) process.kill(pid, 'SIGUSR2');
    await running.waitForCount(/^released descriptors \d+$/m, 2);
    expect((await within(request(running.port), 5_000, 'answered after')).status).toBe(200);
  });
});

// The primary's MAX_QUEUED, and round-robin's MAX_PENDING hand-offs per busy worker.
const MAX_QUEUED = 4096;
const MAX_PENDING = 8;

describe('connections waiting for a worker', () => {
  it(`at most ${MAX_QUEUED} wait in the primary; more are closed, counted at most once a second, and the rest are served`, async () => {
    const { running, pids } = await start('max-connections.mjs', ['--heartbeat-timeout', '0']);
    for (const pid of pids) {
      process.kill(pid, 'SIGSTOP');
      stopped.add(pid);
    }
    const excess = 50;
    const total = MAX_QUEUED + MAX_PENDING * pids.length + excess;
    const openedAt = Date.now();
    const clients = await openMany(running.port, total);
    const reason = `${MAX_QUEUED} connections were already waiting for a worker`;
    await until(() => closedCount(running.output(), reason).total >= excess, 10_000, `${excess} connections counted`);
    const { lines, total: counted } = closedCount(running.output(), reason);
    expect(counted).toBe(excess);
    expect(lines).toBeLessThanOrEqual(Math.ceil((Date.now() - openedAt) / 1000) + 1);
    for (const pid of pids) signal(pid, 'SIGCONT');
    stopped.clear();
    expect(await outcomes(clients, 60_000)).toEqual({ answered: total - excess, closed: excess });
  }, 90_000);

  it('at shutdown, those no worker is left to serve are closed, and the primary says how many', async () => {
    const { running, pids } = await start('max-connections.mjs', ['--heartbeat-timeout', '0', '--shutdown-timeout', '1000']);
    for (const pid of pids) {
      process.kill(pid, 'SIGSTOP');
      stopped.add(pid);
    }
    const primaryFds = () => readdirSync(`/proc/${running.child.pid}/fd`).length;
    const before = primaryFds();
    const clients = await openMany(running.port, 30);
    // Connected is not yet accepted: the primary must hold all 30 before it stops listening.
    await until(() => primaryFds() >= before + 30, 10_000, 'the primary accepted 30 connections');
    // The stopped workers never drain: the primary kills them after the timeout, with these unserved.
    running.child.kill('SIGTERM');
    await within(running.exited, 15_000, 'the primary exited');
    expect(closedCount(running.output(), 'no worker is left to serve the queue').total, running.output()).toBe(30);
    expect(await outcomes(clients, 5_000)).toEqual({ answered: 0, closed: 30 });
  });
});
