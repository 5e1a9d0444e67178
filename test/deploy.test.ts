// Several hosts behind a load balancer: HAProxy in front of three clusterize instances, each
// on its own loopback address, checked on its admin server's /readyz and sent PROXY
// protocol v2. Restarting every host in turn, and reloading every host in turn, under
// keep-alive and churn load through HAProxy, loses no request. docs/deploy.md has the
// config explained and the figures this test logs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, request, startCli, within, type Started } from './helpers.ts';
import { requireHaproxy, startHaproxy, type Haproxy, type ServerState } from './haproxy.ts';
import { churnLoadWhile, keepAliveLoadWhile, type LoadResult } from './load.ts';

const HOSTS = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];
/** HAProxy's own address towards the instances: what their sockets see, unlike the app. */
const HAPROXY_SOURCE = '127.0.0.2';
const CHECK_INTERVAL_MS = 200;
/** Longer than a check interval times `fall` (1), plus a check's own time: HAProxy has marked the host down before it stops accepting. */
const SHUTDOWN_DELAY_MS = 1_000;

interface Instance {
  name: string;
  host: string;
  port: number;
  admin: number;
  proc: Started;
}

let haproxy: Haproxy | undefined;
let front = 0;
const instances: Instance[] = [];

function startInstance(host: string, port: number, admin: number): Promise<Started> {
  // Three hosts on one machine: each cluster needs a name of its own.
  return startCli('peer.mjs', [
    '--name', `peer-${host}`, '--workers', '2', '--policy', 'round-robin', '--proxy-protocol',
    '--shutdown-delay', String(SHUTDOWN_DELAY_MS), '--shutdown-timeout', '5000',
    '--admin-port', String(admin), '--admin-host', host,
  ], { HOST: host, PORT: String(port) });
}

function haproxyConfig(socket: string): string {
  return [
    'global',
    `  stats socket ${socket} level admin`,
    'defaults',
    // HTTP mode with HAProxy's defaults for the backends: keep-alive, `http-reuse safe`.
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    'frontend front',
    `  bind 127.0.0.1:${front}`,
    '  default_backend app',
    'backend app',
    '  balance roundrobin',
    `  source ${HAPROXY_SOURCE}`,
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    // Checks go to the admin port (`port`), so they are sent without a PROXY header.
    `  default-server inter ${CHECK_INTERVAL_MS} fall 1 rise 2 send-proxy-v2`,
    ...instances.map(({ name, host, port, admin }) => `  server ${name} ${host}:${port} check port ${admin}`),
    '',
  ].join('\n');
}

/** Resolves when HAProxy has `server` in `state`, with the ms it took; polls its runtime API. */
async function serverBecomes(server: string, state: ServerState, ms: number): Promise<number> {
  const startedAt = Date.now();
  await within((async () => {
    while ((await haproxy!.serverStates('app')).get(server) !== state) await new Promise((resolve) => setTimeout(resolve, 20));
  })(), ms, `HAProxy marking ${server} ${state}`);
  return Date.now() - startedAt;
}

/** Keep-alive and churn load through HAProxy while `operation` runs; both results. HAProxy's counters start at 0. */
async function underLoad(operation: () => Promise<void>): Promise<{ keepAlive: LoadResult; churn: LoadResult }> {
  await haproxy!.command('clear counters all');
  const done = operation();
  const [keepAlive, churn] = await Promise.all([
    keepAliveLoadWhile(front, done, { connections: 8, maxSeconds: 40 }),
    churnLoadWhile(front, done, { concurrency: 4, maxSeconds: 40 }),
    done,
  ]);
  return { keepAlive, churn };
}

/**
 * No client saw a failure, and HAProxy did not hide one either: it retries a refused
 * connection on its own (`retries`, default 3), so its per-server counters must show no
 * connection error, no retry, no redispatch and no bad response.
 */
async function expectNothingLost({ keepAlive, churn }: { keepAlive: LoadResult; churn: LoadResult }): Promise<void> {
  console.log(`deploy: keep-alive ${keepAlive.requests} requests (${keepAlive.errors} errors, ${keepAlive.timeouts} timeouts, ${keepAlive.non2xx} non-2xx); `
    + `churn ${churn.requests} requests (${churn.errors} errors, ${churn.timeouts} timeouts, ${churn.non2xx} non-2xx)`);
  for (const result of [keepAlive, churn]) {
    expect(result.requests).toBeGreaterThan(100);
    expect({ errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx }).toEqual({ errors: 0, timeouts: 0, non2xx: 0 });
  }
  for (const [server, { econ, eresp, wretr, wredis, hrsp_5xx }] of await haproxy!.serverStats('app')) {
    expect({ server, econ, eresp, wretr, wredis, hrsp_5xx }).toEqual({ server, econ: 0, eresp: 0, wretr: 0, wredis: 0, hrsp_5xx: 0 });
  }
}

beforeAll(async () => {
  requireHaproxy();
  front = await freePort();
  // Each instance binds fixed ports, as a host would: picked free up front, kept across restarts.
  for (const [index, host] of HOSTS.entries()) {
    const [port, admin] = [await freePort(host), await freePort(host)];
    instances.push({ name: `host${index + 1}`, host, port, admin, proc: await startInstance(host, port, admin) });
  }
  haproxy = await startHaproxy(front, haproxyConfig);
  for (const { name } of instances) await serverBecomes(name, 'up', 5_000);
}, 60_000);

afterAll(async () => {
  await haproxy?.kill();
  await Promise.all(instances.map(({ proc }) => proc.close()));
});

describe('three hosts behind HAProxy (health checks on /readyz, PROXY protocol v2)', () => {
  it("the app sees the client's address, not HAProxy's, on every host", async () => {
    const hosts = new Set<string>();
    for (const localAddress of ['127.0.0.1', '127.0.0.5', '127.0.0.1']) {
      for (let i = 0; i < HOSTS.length; i++) {
        const reply = await request(front, '/', { localAddress });
        expect(reply.status).toBe(200);
        const body = JSON.parse(reply.body) as { host: string; remoteAddress: string };
        expect(body.remoteAddress).toBe(localAddress);
        hosts.add(body.host);
      }
    }
    expect([...hosts].sort()).toEqual(HOSTS);
  });

  it('restarting every host in turn (SIGTERM, exit 0, start, marked up) under load loses no request', async () => {
    const result = await underLoad(async () => {
      for (const instance of instances) {
        const sentAt = Date.now();
        instance.proc.child.kill('SIGTERM');
        const markedDown = await serverBecomes(instance.name, 'down', SHUTDOWN_DELAY_MS);
        expect(await within(instance.proc.exited, SHUTDOWN_DELAY_MS + 10_000, `${instance.name} exiting`)).toEqual({ code: 0, signal: null });
        const exitedAfter = Date.now() - sentAt;
        instance.proc = await startInstance(instance.host, instance.port, instance.admin);
        const readyAfter = Date.now() - sentAt;
        await serverBecomes(instance.name, 'up', 10_000);
        console.log(`deploy: restart of ${instance.name}: marked down ${markedDown} ms after SIGTERM, exited 0 at ${exitedAfter} ms, `
          + `new instance ready at ${readyAfter} ms, marked up at ${Date.now() - sentAt} ms`);
      }
    });
    await expectNothingLost(result);
  }, 60_000);

  it('a rolling SIGHUP reload of every host in turn under load loses no request', async () => {
    const result = await underLoad(async () => {
      for (const instance of instances) {
        const sentAt = Date.now();
        const reloads = instance.proc.output().match(/reload complete/g)?.length ?? 0;
        instance.proc.child.kill('SIGHUP');
        await instance.proc.waitForCount(/clusterize: reload complete/, reloads + 1, 20_000);
        console.log(`deploy: reload of ${instance.name}: ${Date.now() - sentAt} ms`);
      }
    });
    await expectNothingLost(result);
  }, 60_000);
});
