import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startHaproxy, type Haproxy } from './haproxy.ts';
import { CLI, connectRaw, fixture, freePort, getRequest, parseResponses, run, startCli, within, type RawConnection, type Started } from './helpers.ts';

let cli: Started | undefined;
let haproxy: Haproxy | undefined;

afterEach(async () => {
  await haproxy?.kill();
  haproxy = undefined;
  await cli?.close();
  cli = undefined;
});

interface Seen {
  pid: number;
  url: string;
  remoteAddress: string;
  remotePort: number;
  remoteFamily: string;
}

const seen = (body: string) => JSON.parse(body) as Seen;

const startProxied = (policy = 'round-robin') =>
  startCli('peer.mjs', ['--workers', '2', '--policy', policy, '--proxy-protocol'], { PORT: '0' });

const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** A v2 PROXY header for TCP over IPv4 or IPv6, with `padding` bytes of TLVs (a NOOP TLV) after the addresses. */
function v2Header(source: Buffer, sourcePort: number, { padding = 0, command = 1 } = {}): Buffer {
  const ipv6 = source.length === 16;
  const destination = Buffer.alloc(source.length, 1);
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(sourcePort, 0);
  ports.writeUInt16BE(443, 2);
  const tlv = padding === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x04, (padding - 3) >> 8, (padding - 3) & 0xff]), Buffer.alloc(padding - 3)]);
  const body = Buffer.concat([source, destination, ports, tlv]);
  const fixed = Buffer.from([0x20 | command, ipv6 ? 0x21 : 0x11, body.length >> 8, body.length & 0xff]);
  return Buffer.concat([V2_SIGNATURE, fixed, body]);
}

/** Opens a connection and writes `bytes` in one write: the header and what follows arrive together. */
function sendAtOnce(port: number, ...parts: (string | Buffer)[]): RawConnection {
  const connection = connectRaw(port);
  connection.socket.write(Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : part))));
  return connection;
}

const close = { connection: 'close' };

describe('PROXY protocol, headers written by hand', () => {
  it('v1: the app sees the client address and port the header gives; the request in the same packet is served', async () => {
    cli = await startProxied();
    const reply = await sendAtOnce(cli.port, 'PROXY TCP4 203.0.113.7 192.0.2.1 45678 80\r\n', getRequest('/v1', close)).response();
    expect(reply.status).toBe(200);
    expect(seen(reply.body)).toMatchObject({ url: '/v1', remoteAddress: '203.0.113.7', remotePort: 45678, remoteFamily: 'IPv4' });
  });

  it('v1 over IPv6, header and request split over several packets', async () => {
    cli = await startProxied();
    const connection = connectRaw(cli.port);
    for (const part of ['PROXY TC', 'P6 2001:db8::42 2001:db8::1 ', '6000 443\r', '\n']) {
      connection.send(part);
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    connection.send(getRequest('/split', close));
    expect(seen((await connection.response()).body)).toMatchObject({ url: '/split', remoteAddress: '2001:db8::42', remotePort: 6000, remoteFamily: 'IPv6' });
  });

  it('v2: IPv4 and IPv6 clients; TLVs after the addresses are skipped; a pipelined pair in the header\'s packet is served intact', async () => {
    cli = await startProxied();
    const v4 = await sendAtOnce(cli.port, v2Header(Buffer.from([198, 51, 100, 9]), 50_001), getRequest('/v4', close)).response();
    expect(seen(v4.body)).toMatchObject({ url: '/v4', remoteAddress: '198.51.100.9', remotePort: 50_001, remoteFamily: 'IPv4' });
    const ipv6 = Buffer.from('20010db8000000000000000000000abc', 'hex');
    const pair = sendAtOnce(cli.port, v2Header(ipv6, 40_000, { padding: 600 }), getRequest('/first'), getRequest('/second', close));
    const [first, second] = [seen((await pair.response(1)).body), seen((await pair.response(2)).body)];
    expect(first).toMatchObject({ url: '/first', remoteAddress: '2001:db8::abc', remotePort: 40_000, remoteFamily: 'IPv6' });
    expect(second).toMatchObject({ url: '/second', remoteAddress: '2001:db8::abc', remotePort: 40_000 });
    expect(second.pid).toBe(first.pid);
  });

  it("v1 UNKNOWN and v2 LOCAL (a proxy's health check) keep the connection's own address", async () => {
    cli = await startProxied();
    const unknown = await sendAtOnce(cli.port, 'PROXY UNKNOWN\r\n', getRequest('/unknown', close)).response();
    expect(seen(unknown.body)).toMatchObject({ url: '/unknown', remoteAddress: '127.0.0.1' });
    const local = await sendAtOnce(cli.port, v2Header(Buffer.from([10, 0, 0, 1]), 1, { command: 0 }), getRequest('/local', close)).response();
    expect(seen(local.body)).toMatchObject({ url: '/local', remoteAddress: '127.0.0.1' });
  });

  it('a missing or malformed header closes that connection only, without a byte of response, and is counted', async () => {
    cli = await startProxied();
    const bad = [
      ['no header', getRequest('/plain', close)],
      ['v1, bad address', `PROXY TCP4 999.0.0.1 192.0.2.1 1 2\r\n${getRequest('/', close)}`],
      ['v1, no CRLF within 107 bytes', `PROXY TCP4 ${'1'.repeat(120)}`],
      ['v2, bad version', Buffer.concat([V2_SIGNATURE, Buffer.from([0x31, 0x11, 0, 12]), Buffer.alloc(12)])],
    ] as const;
    const closed = await Promise.all(bad.map(([, bytes]) => sendAtOnce(cli!.port, bytes).closed));
    for (const [index, { received }] of closed.entries()) expect(received, bad[index]![0]).toBe('');
    const good = await sendAtOnce(cli.port, 'PROXY TCP4 203.0.113.8 192.0.2.1 1000 80\r\n', getRequest('/good', close)).response();
    expect(seen(good.body).remoteAddress).toBe('203.0.113.8');
    // The count comes in at most one line a second: every bad connection is in it.
    const counted = () => [...cli!.output().matchAll(/clusterize: closed (\d+) connections?: no valid PROXY protocol header/g)]
      .reduce((sum, match) => sum + Number(match[1]), 0);
    await within((async () => {
      while (counted() < bad.length) await new Promise((resolve) => setTimeout(resolve, 50));
    })(), 3_000, `${bad.length} connections counted`);
    expect(counted()).toBe(bad.length);
  });

  it('a header sent too slowly closes that connection after 5 s; other connections are served meanwhile', async () => {
    cli = await startProxied();
    const slow = connectRaw(cli.port);
    slow.send('PROXY TCP4 203.0.');
    let slowClosed = false;
    void slow.closed.then(() => { slowClosed = true; });
    for (let i = 0; i < 5; i++) {
      const reply = await sendAtOnce(cli.port, `PROXY TCP4 203.0.113.${i} 192.0.2.1 1000 80\r\n`, getRequest('/meanwhile', close)).response();
      expect(seen(reply.body).remoteAddress).toBe(`203.0.113.${i}`);
    }
    expect(slowClosed, 'the slow connection still open while the others were served').toBe(false);
    const { afterMs, received } = await within(slow.closed, 15_000, 'the slow connection closed');
    expect(received).toBe('');
    expect(afterMs).toBeGreaterThanOrEqual(4_900);
    await cli.waitFor(/clusterize: closed 1 connection: no complete PROXY protocol header within 5000 ms/);
  }, 30_000);

  it("sticky hashes the header's client address: each one reaches one worker, and both workers get a share", async () => {
    cli = await startProxied('sticky');
    const pidOf = new Map<string, Set<number>>();
    for (let round = 0; round < 3; round++) {
      for (let i = 1; i <= 30; i++) {
        const address = `198.51.100.${i}`;
        const reply = await sendAtOnce(cli.port, `PROXY TCP4 ${address} 192.0.2.1 ${1000 + round} 80\r\n`, getRequest('/', close)).response();
        pidOf.set(address, (pidOf.get(address) ?? new Set()).add(seen(reply.body).pid));
      }
    }
    for (const [address, pids] of pidOf) expect(pids.size, address).toBe(1);
    const shares = new Map<number, number>();
    for (const pids of pidOf.values()) for (const pid of pids) shares.set(pid, (shares.get(pid) ?? 0) + 1);
    expect(shares.size).toBe(2);
  });

  it('is refused under shared and reuseport, with a coded error', async () => {
    for (const policy of ['shared', 'reuseport']) {
      const proc = run([CLI, '--workers', '1', '--policy', policy, '--proxy-protocol', fixture('peer.mjs')]);
      expect(await proc.exited).toEqual({ code: 2, signal: null });
      expect(proc.output()).toMatch(/PROXY protocol .*round-robin.*\[ERR_CLUSTERIZE_PROXY_PROTOCOL_UNSUPPORTED\]/);
    }
  });
});

/** Starts HAProxy (the Debian package) on a free loopback port, in front of `backend`, sending the PROXY header version `send`. */
async function startProxy(backend: number, send: 'send-proxy' | 'send-proxy-v2'): Promise<number> {
  const front = await freePort();
  haproxy = await startHaproxy(front, () => [
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 30s',
    '  timeout server 30s',
    'frontend front',
    `  bind 127.0.0.1:${front}`,
    '  default_backend app',
    'backend app',
    `  server clusterize 127.0.0.1:${backend} ${send}`,
    '',
  ].join('\n'));
  return front;
}

/** One request from `localAddress`, with the client's own port as the connection got it. */
async function requestFrom(port: number, localAddress: string, path: string) {
  const connection = net.connect({ port, host: '127.0.0.1', localAddress });
  await once(connection, 'connect');
  const localPort = connection.localPort!;
  connection.end(getRequest(path, { connection: 'close' }));
  let text = '';
  connection.setEncoding('latin1');
  for await (const chunk of connection) text += chunk as string;
  return { reply: parseResponses(text, true)[0]!, localPort };
}

describe('PROXY protocol behind a real HAProxy', () => {
  for (const send of ['send-proxy', 'send-proxy-v2'] as const) {
    it(`${send}: the app sees the client's own address and port`, async () => {
      cli = await startProxied('sticky');
      const front = await startProxy(cli.port, send);
      for (const localAddress of ['127.0.0.5', '127.0.0.6']) {
        const { reply, localPort } = await requestFrom(front, localAddress, `/${send}`);
        expect(seen(reply.body)).toMatchObject({ url: `/${send}`, remoteAddress: localAddress, remotePort: localPort, remoteFamily: 'IPv4' });
      }
    });
  }
});
