import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, startCli, within, type Running } from './helpers.ts';

const ca = readFileSync(fixture('tls-cert.pem'));
type Answer = { pid: number; kind: string; version?: string };

let cluster: Running | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const clients: Record<string, (port: number) => Promise<Answer>> = {
  https: (port) => new Promise((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, ca, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve(JSON.parse(body) as Answer));
    }).on('error', reject);
  }),
  http2: (port) => new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca });
    session.on('error', reject);
    const stream = session.request({ ':path': '/' });
    let body = '';
    stream.on('data', (chunk) => { body += chunk; });
    stream.on('end', () => {
      session.close();
      resolve(JSON.parse(body) as Answer);
    });
  }),
  net: (port) => new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let body = '';
    socket.on('data', (chunk) => { body += chunk; });
    socket.on('end', () => resolve(JSON.parse(body) as Answer));
    socket.on('error', reject);
  }),
};

describe('every kind of net.Server is clustered', () => {
  for (const kind of ['https', 'http2', 'net']) {
    for (const policy of ['shared', 'round-robin']) {
      it(`${kind} (${policy}): the worker does the TLS handshake or protocol itself; both workers answer`, async () => {
        const started = await startCli('server-kinds.mjs', ['--workers', '2', '--policy', policy], { KIND: kind });
        cluster = started;
        const pids = new Set<number>();
        for (let i = 0; i < 100 && pids.size < 2; i++) {
          const answer = await clients[kind]!(started.port);
          expect(answer.kind).toBe(kind);
          if (kind === 'http2') expect(answer.version).toBe('2.0');
          pids.add(answer.pid);
        }
        expect(pids.size).toBe(2);
        expect(pids.has(started.child.pid!)).toBe(false);
      });
    }
  }
});

describe('draining TLS and HTTP/2 servers', () => {
  /** One HTTPS request on a keep-alive agent: the connection stays open unless told otherwise. */
  function keepAliveGet(port: number, path: string, agent: https.Agent): Promise<{ status: number; connection: string | undefined; body: string }> {
    return new Promise((resolve, reject) => {
      https.get({ host: '127.0.0.1', port, path, agent, headers: { connection: 'keep-alive' } }, (res) => {
        let body = '';
        res.on('data', (chunk) => { body += chunk; });
        res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body }));
      }).on('error', reject);
    });
  }

  for (const kind of ['https', 'http2']) {
    it(`${kind}: an HTTP/1.1 keep-alive response in flight at SIGTERM gets Connection: close; the primary exits 0 long before shutdownTimeout`, async () => {
      const started = await startCli('server-kinds.mjs', ['--workers', '1', '--shutdown-timeout', '10000'], { KIND: kind });
      cluster = started;
      const agent = new https.Agent({ keepAlive: true, ca });
      const reply = keepAliveGet(started.port, '/slow?ms=1000', agent);
      await started.waitFor(/slow request \d+/);
      const exited = started.stop('SIGTERM');
      const answered = await within(reply, 5_000, 'answering the in-flight request');
      expect(answered.status).toBe(200);
      expect((JSON.parse(answered.body) as Answer).version).toBe('1.1');
      expect(answered.connection).toBe('close');
      // Without Connection: close the idle keep-alive connection holds the drain until the deadline.
      expect(await within(exited, 5_000, 'the primary exiting')).toEqual({ code: 0, signal: null });
      agent.destroy();
    });
  }

  it('h2c (HTTP/2 without TLS): a stream in flight at SIGTERM completes, its session gets GOAWAY, the primary exits 0', async () => {
    const started = await startCli('server-kinds.mjs', ['--workers', '1', '--shutdown-timeout', '10000'], { KIND: 'h2c' });
    cluster = started;
    const session = http2.connect(`http://127.0.0.1:${started.port}`);
    session.on('error', () => {});
    const goaway = new Promise<void>((resolve) => session.on('goaway', () => resolve()));
    const closed = new Promise<void>((resolve) => session.on('close', () => resolve()));
    const stream = session.request({ ':path': '/slow?ms=1000' });
    const reply = new Promise<{ status: number; body: string }>((resolve, reject) => {
      let status = 0;
      let body = '';
      stream.on('response', (headers) => { status = Number(headers[':status']); });
      stream.on('data', (chunk) => { body += chunk; });
      stream.on('end', () => resolve({ status, body }));
      stream.on('error', reject);
    });
    await started.waitFor(/slow request \d+/);
    const exited = started.stop('SIGTERM');
    await within(goaway, 5_000, 'GOAWAY on the session');
    const answered = await within(reply, 5_000, 'the stream in flight completing');
    expect(answered.status).toBe(200);
    expect((JSON.parse(answered.body) as Answer).kind).toBe('h2c');
    await within(closed, 5_000, 'the session closing');
    expect(await within(exited, 5_000, 'the primary exiting')).toEqual({ code: 0, signal: null });
  });

  it('closes an open HTTP/2 session (GOAWAY) on SIGTERM instead of waiting out the shutdown timeout', async () => {
    const started = await startCli('server-kinds.mjs', ['--workers', '1', '--shutdown-timeout', '20000'], { KIND: 'http2' });
    cluster = started;
    const session = http2.connect(`https://127.0.0.1:${started.port}`, { ca });
    const closed = new Promise<void>((resolve) => session.on('close', () => resolve()));
    const goaway = new Promise<void>((resolve) => session.on('goaway', () => resolve()));
    session.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      const stream = session.request({ ':path': '/' });
      stream.on('error', reject);
      stream.resume();
      stream.on('end', () => resolve());
    });
    const exited = started.stop('SIGTERM');
    await goaway;
    await closed;
    // A session cut at the shutdown timeout would make it exit 1 (EXIT_CUT_AT_DEADLINE).
    expect(await within(exited, 15_000, 'the primary exiting, before the 20 s shutdown timeout')).toEqual({ code: 0, signal: null });
  });
});

describe('TLS session resumption', () => {
  /** One HTTPS request over a TLS socket of our own, so the session can be kept and offered again. */
  function tlsRequest(port: number, session?: Buffer): Promise<{ pid: number; reused: boolean; session: Promise<Buffer> }> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ca, session, servername: 'localhost' });
      const ticket = new Promise<Buffer>((done) => socket.once('session', done));
      let body = '';
      socket.on('secureConnect', () => socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'));
      socket.on('data', (chunk) => { body += chunk; });
      socket.on('end', () => {
        const pid = (JSON.parse(body.slice(body.indexOf('{'))) as Answer).pid;
        resolve({ pid, reused: socket.isSessionReused(), session: ticket });
      });
      socket.on('error', reject);
    });
  }

  it('a session issued by one worker resumes on another (the cluster shares ticket keys)', async () => {
    const started = await startCli('server-kinds.mjs', ['--workers', '2', '--policy', 'round-robin'], { KIND: 'https' });
    cluster = started;
    const first = await tlsRequest(started.port);
    const session = await first.session;
    let other: { pid: number; reused: boolean } | undefined;
    for (let i = 0; i < 20 && other === undefined; i++) {
      const next = await tlsRequest(started.port, session);
      if (next.pid !== first.pid) other = next;
    }
    expect(other).toBeDefined();
    expect(other!.reused).toBe(true);
  });
});
