import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startCli, within, type Started } from './helpers.ts';

let cli: Started | undefined;

afterEach(async () => {
  await cli?.close();
  cli = undefined;
});

const CLIENTS = 200;
const CONNECT_AT_ONCE = 50;

/** When the primary said each old worker (by pid) began to drain for the new release. */
function drainStarts(running: Started): Map<number, number> {
  const starts = new Map<number, number>();
  const onData = (chunk: Buffer) => {
    for (const match of chunk.toString().matchAll(/pid (\d+)\) is draining: a worker of the new release/g)) {
      starts.set(Number(match[1]), Date.now());
    }
  };
  running.child.stdout!.on('data', onData);
  running.child.stderr!.on('data', onData);
  return starts;
}

/** A WebSocket client that reconnects once each time it is closed, and records where it landed and how it was closed. */
class Client {
  readonly pids: number[] = [];
  readonly closes: { code: number; at: number; pid: number }[] = [];
  private socket: WebSocket | undefined;

  constructor(private readonly url: string) {}

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url);
      this.socket = socket;
      socket.once('error', reject);
      socket.once('message', (data) => {
        this.pids.push((JSON.parse(String(data)) as { pid: number }).pid);
        resolve();
      });
      socket.once('close', (code) => {
        this.closes.push({ code, at: Date.now(), pid: this.pids.at(-1) ?? 0 });
        if (socket === this.socket) void this.connect().catch(() => {});
      });
    });
  }

  stop(): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.terminate();
  }
}

describe.each(['shared', 'round-robin', 'sticky'])('an unmodified ws app on reload (%s)', (policy) => {
  it('closes every client with 1001 when its worker drains (no 1006: nothing waits for the shutdown deadline), and each moves once, to a new worker', async () => {
    cli = await startCli('ws-app.mjs', ['--workers', '2', '--policy', policy], { PORT: '0' });
    const starts = drainStarts(cli);
    const clients = Array.from({ length: CLIENTS }, () => new Client(`ws://127.0.0.1:${cli!.port}/`));
    try {
      for (let i = 0; i < CLIENTS; i += CONNECT_AT_ONCE) await Promise.all(clients.slice(i, i + CONNECT_AT_ONCE).map((c) => c.connect()));
      const oldPids = new Set(clients.map((client) => client.pids[0]!));
      cli.child.kill('SIGHUP');
      await cli.waitFor(/reload complete/, 30_000);
      await within((async () => {
        while (clients.some((client) => client.pids.length < 2)) await new Promise((resolve) => setTimeout(resolve, 50));
      })(), 5_000, 'every client reconnecting');
      for (const client of clients) {
        expect(client.closes, `closes of a client that landed on ${client.pids.join(', ')}`).toHaveLength(1);
        const [close] = client.closes;
        expect([1001, 1012]).toContain(close!.code);
        const drainedAt = starts.get(close!.pid);
        expect(drainedAt, `drain line for pid ${close!.pid}`).toBeDefined();
        expect(oldPids.has(client.pids[1]!), `client moved from ${client.pids[0]} to ${client.pids[1]}`).toBe(false);
      }
    } finally {
      for (const client of clients) client.stop();
    }
  }, 60_000);
});

describe("a ws app with its own 'drain' listener", () => {
  it('closes its clients its own way: clusterize sends no close frame of its own', async () => {
    cli = await startCli('ws-app.mjs', ['--workers', '1'], { PORT: '0', DRAIN_CLOSE_CODE: '4000' });
    const clients = Array.from({ length: 5 }, () => new Client(`ws://127.0.0.1:${cli!.port}/`));
    try {
      await Promise.all(clients.map((client) => client.connect()));
      cli.child.kill('SIGHUP');
      await cli.waitFor(/reload complete/, 20_000);
      await within((async () => {
        while (clients.some((client) => client.closes.length === 0)) await new Promise((resolve) => setTimeout(resolve, 50));
      })(), 5_000, 'every client being closed');
      for (const client of clients) expect(client.closes[0]!.code).toBe(4000);
    } finally {
      for (const client of clients) client.stop();
    }
  }, 30_000);
});

// Under shared the kernel picks the worker a reconnect lands on: only an old worker that has
// closed its copy of the socket before the first old one drains keeps it from being the one.
describe.each(['shared', 'round-robin'])('an unmodified SSE app on reload (%s)', (policy) => {
  it('ends the stream with its terminating chunk, and the client reconnects to a new worker', async () => {
    cli = await startCli('sse-app.mjs', ['--workers', '2', '--policy', policy], { PORT: '0' });
    const { port } = cli;
    const stream = () => new Promise<{ pid: number; ended: Promise<string> }>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        let pid: number | undefined;
        const ended = new Promise<string>((done) => {
          res.on('end', () => done('end'));
          res.on('aborted', () => done('aborted'));
          res.on('error', (error) => done(`error ${(error as NodeJS.ErrnoException).code}`));
        });
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const match = /^data: (\{.*\})$/m.exec(chunk);
          if (pid === undefined && match !== null) {
            pid = (JSON.parse(match[1]!) as { pid: number }).pid;
            resolve({ pid, ended });
          }
        });
      });
      req.on('error', reject);
    });
    // One stream per worker.
    const streams = new Map<number, Awaited<ReturnType<typeof stream>>>();
    await within((async () => {
      while (streams.size < 2) {
        const opened = await stream();
        if (!streams.has(opened.pid)) streams.set(opened.pid, opened);
      }
    })(), 10_000, 'a stream on each worker');
    cli.child.kill('SIGHUP');
    // Each client reconnects the moment its stream ends, as an EventSource does.
    await Promise.all([...streams].map(async ([oldPid, opened]) => {
      expect(await within(opened.ended, 5_000, `the stream of pid ${oldPid} ending`)).toBe('end');
      const again = await stream();
      expect(streams.has(again.pid), `the stream of pid ${oldPid} reconnected to ${again.pid}`).toBe(false);
    }));
    await cli.waitFor(/reload complete/, 20_000);
  }, 30_000);
});
