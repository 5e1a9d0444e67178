// The admin server's limits: a client that opens connections and sits on them cannot take
// the descriptors the primary needs to dispatch connections and fork workers.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_IDLE_TIMEOUT_MS, ADMIN_MAX_CONNECTIONS, ADMIN_REQUEST_TIMEOUT_MS } from '../packages/core/src/admin/admin-server.ts';
import { connectRaw, getRequest, request, startCli, until, within, type RawConnection, type Started } from './helpers.ts';

let cluster: Started | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

/** Long enough for any of the admin server's timeouts to have run out (it checks them every second), yet a bound. */
const TIMED_OUT = Math.max(ADMIN_IDLE_TIMEOUT_MS, ADMIN_REQUEST_TIMEOUT_MS) + 10_000;

async function startWithAdmin() {
  const running = await startCli('hello.mjs', ['--workers', '2', '--policy', 'round-robin', '--admin-port', '0']);
  cluster = running;
  const admin = Number((await running.waitFor(/admin server on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
  return { ...running, admin };
}

/** Opens `count` connections that send nothing; resolves once each has connected (or closed already). */
async function idleConnections(port: number, count: number): Promise<{ connections: RawConnection[]; open(): number }> {
  const closed = new Set<RawConnection>();
  const connections = Array.from({ length: count }, () => connectRaw(port));
  for (const connection of connections) void connection.closed.then(() => closed.add(connection));
  await Promise.all(connections.map((connection) => new Promise((resolve) => {
    connection.socket.once('connect', resolve);
    void connection.closed.then(resolve);
  })));
  return { connections, open: () => count - closed.size };
}

/** Asks until `path` is answered, for at most `ms`; the last error if it never is. */
async function answered(port: number, path: string, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return (await request(port, path)).status;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Asks /workers until `count` workers are ready, for at most `ms`. */
async function readyWorkers(admin: number, count: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const workers = JSON.parse((await request(admin, '/workers')).body) as { state: string }[];
    if (workers.filter((worker) => worker.state === 'ready').length >= count) return;
    if (Date.now() > deadline) throw new Error(`${count} ready workers did not happen within ${ms} ms: ${JSON.stringify(workers)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the admin server under a flood of idle connections', () => {
  it(`holds at most ${ADMIN_MAX_CONNECTIONS}, the main port serves meanwhile, and /livez answers once the idle ones time out`, async () => {
    const running = await startWithAdmin();
    const flood = await idleConnections(running.admin, ADMIN_MAX_CONNECTIONS + 50);
    try {
      await until(() => flood.open() <= ADMIN_MAX_CONNECTIONS, TIMED_OUT, `the admin server closing the connections past its cap (${flood.open()} open)`);
      expect((await request(running.port)).status).toBe(200);
      expect(await answered(running.admin, '/livez', TIMED_OUT)).toBe(200);
      await until(() => flood.open() === 0, TIMED_OUT, 'the admin server closing the idle connections');
      expect(running.output()).toMatch(new RegExp(`clusterize: the admin server has ${ADMIN_MAX_CONNECTIONS} connections open \\(its cap\\); closing new ones`));
    } finally {
      for (const connection of flood.connections) connection.socket.destroy();
    }
  });

  it('closes a connection that sends nothing, and a keep-alive connection once it is idle', async () => {
    const running = await startWithAdmin();
    const silent = connectRaw(running.admin);
    const keptAlive = connectRaw(running.admin, getRequest('/livez'));
    expect((await keptAlive.response()).status).toBe(200);
    const [silentClosed, keptAliveClosed] = await Promise.all([
      within(silent.closed, TIMED_OUT, 'the silent connection closing'),
      within(keptAlive.closed, TIMED_OUT, 'the idle keep-alive connection closing'),
    ]);
    // Node answers a request head that never came with 408 as it closes.
    expect(silentClosed.received).toMatch(/^HTTP\/1\.1 408 /);
    expect(keptAliveClosed.received).toMatch(/^HTTP\/1\.1 200 /);
  });
});

const FD_LIMIT = 256;

describe.runIf(existsSync('/usr/bin/prlimit'))(`a primary limited to ${FD_LIMIT} descriptors`, () => {
  it(`serves the main port and /livez, and forks a replacement, while ${FD_LIMIT + 50} connections flood the admin port`, async () => {
    const running = await startWithAdmin();
    execFileSync('prlimit', ['--pid', String(running.child.pid), `--nofile=${FD_LIMIT}:${FD_LIMIT}`]);
    const flood = await idleConnections(running.admin, FD_LIMIT + 50);
    try {
      expect(await answered(running.port, '/', TIMED_OUT)).toBe(200);
      expect(await answered(running.admin, '/livez', TIMED_OUT)).toBe(200);
      const workers = JSON.parse((await request(running.admin, '/workers')).body) as { pid: number }[];
      process.kill(workers[0]!.pid, 'SIGKILL');
      await running.waitForCount(/^listening /m, 3, TIMED_OUT);
      await readyWorkers(running.admin, 2, TIMED_OUT);
      expect(running.output()).not.toMatch(/EMFILE/);
    } finally {
      for (const connection of flood.connections) connection.socket.destroy();
    }
  });
});
