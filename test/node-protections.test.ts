import { DEFAULT_POLICY } from '@clusterize/core';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRaw, getRequest, request, startCli, within, type RawConnection, type Started } from './helpers.ts';

// Node's own protections must hold for a connection the primary accepted and forwarded
// (round-robin) as for one the worker accepted itself. fixtures/protections.mjs sets
// headersTimeout and requestTimeout to 1000 ms, checked every 100 ms.

let cluster: Started | undefined;
const clients: RawConnection[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.destroy();
  await cluster?.close();
  cluster = undefined;
});

async function start(policy: string, env: Record<string, string> = {}, workers = 1, args: string[] = []): Promise<Started> {
  cluster = await startCli('protections.mjs', ['--workers', String(workers), '--policy', policy, ...args], env);
  return cluster;
}

function connect(port: number, send = ''): RawConnection {
  const client = connectRaw(port, send);
  clients.push(client);
  return client;
}

/** A keep-alive connection that has had one response and now sits idle. */
async function idleConnection(port: number): Promise<RawConnection> {
  const client = connect(port, getRequest('/'));
  expect((await client.response()).status).toBe(200);
  return client;
}

describe("Node's protections on connections a worker serves", () => {
  for (const policy of ['round-robin', DEFAULT_POLICY]) {
    it(`a client that never finishes its headers gets 408 and is cut off by headersTimeout (${policy})`, async () => {
      const { port } = await start(policy, {}, 2);
      const slowloris = connect(port, 'GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
      const { afterMs, received } = await within(slowloris.closed, 4_000, 'closing the slow-header connection');
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
      expect(afterMs).toBeGreaterThanOrEqual(900);
      expect((await request(port)).status).toBe(200);
    });
  }

  it('keepAliveTimeout closes an idle forwarded keep-alive connection', async () => {
    const { port } = await start('round-robin', { KEEP_ALIVE_TIMEOUT: '1000' });
    const client = connect(port, getRequest('/'));
    const reply = await client.response();
    expect(reply.headers['keep-alive']).toBe('timeout=1');
    // Node adds keepAliveTimeoutBuffer (1 s on newer lines) to the socket timeout; the default 5 s would exceed this bound.
    const { afterMs } = await within(client.closed, 4_000, 'closing the idle keep-alive connection');
    expect(afterMs).toBeGreaterThanOrEqual(900);
  });

  it('maxConnections counts forwarded connections; one over the limit is refused and, with no other worker and --queue-timeout 0, closed by the primary', async () => {
    const running = await start('round-robin', { MAX_CONNECTIONS: '2' }, 1, ['--queue-timeout', '0']);
    const first = await idleConnection(running.port);
    await idleConnection(running.port);
    const third = connect(running.port, getRequest('/'));
    const { received } = await within(third.closed, 4_000, 'closing the connection over maxConnections');
    expect(received).toBe('');
    // The worker handed it back (as node:cluster does); no other worker could take it.
    await running.waitFor(/clusterize: closed 1 connection: every worker is at maxConnections/);
    expect(running.output()).not.toMatch(/connection dropped/);
    first.socket.end();
    await running.waitFor(/connection closed/);
    expect((await request(running.port)).status).toBe(200);
  });

  it('getConnections() counts forwarded connections', async () => {
    const running = await start('round-robin');
    const idle = [await idleConnection(running.port), await idleConnection(running.port)];
    expect(JSON.parse((await request(running.port, '/connections')).body)).toMatchObject({ count: 3 });
    for (const client of idle) client.socket.end();
    // Two idle ones and the one that asked above.
    await running.waitForCount(/connection closed/, 3);
    expect(JSON.parse((await request(running.port, '/connections')).body)).toMatchObject({ count: 1 });
  });

  it('closeIdleConnections() closes idle forwarded keep-alive connections at once', async () => {
    const { port } = await start('round-robin', { KEEP_ALIVE_TIMEOUT: '60000' });
    const idle = await idleConnection(port);
    const busy = connect(port, 'GET / HTTP/1.1\r\nHost: localhost\r\n');
    expect((await request(port, '/close-idle')).status).toBe(200);
    // Its keep-alive timeout is 60 s: only closeIdleConnections() closes it within the deadline.
    await within(idle.closed, 20_000, 'closing the idle connection');
    // A connection in the middle of a request is not idle: it still gets its answer.
    busy.send('\r\n');
    expect((await busy.response()).status).toBe(200);
  });
});
