import http from 'node:http';
import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { request, startCli, type Started } from './helpers.ts';

let cli: Started | undefined;

afterEach(async () => {
  await cli?.close();
  cli = undefined;
});

const CLIENTS = 200;
const CONNECT_AT_ONCE = 50;
const ACKS = 5;

/** Client `i`'s own address on loopback (Linux routes all of 127.0.0.0/8 there). */
const addressOf = (i: number) => `127.1.${i >> 8}.${1 + (i & 255)}`;

interface Outcome {
  helloPid: number;
  ackPids: number[];
  /** connect_error and disconnect reasons: a session another worker does not know ends up here. */
  errors: string[];
}

/** One socket.io client with default transports (polling, then the upgrade), from its own address: connects and asks for ACKS acks. */
async function converse(port: number, localAddress: string): Promise<Outcome> {
  // No keep-alive: each polling request is a new connection, as from a browser behind a busy proxy.
  const agent = new http.Agent({ localAddress, keepAlive: false });
  const socket: Socket = io(`http://127.0.0.1:${port}`, { agent: agent as never, forceNew: true, reconnection: false });
  const outcome: Outcome = { helloPid: 0, ackPids: [], errors: [] };
  socket.on('connect_error', (error) => outcome.errors.push(`connect_error: ${error.message}`));
  socket.on('disconnect', (reason) => outcome.errors.push(`disconnect: ${reason}`));
  try {
    outcome.helloPid = await new Promise<number>((resolve, reject) => {
      socket.once('hello', resolve);
      socket.once('connect_error', reject);
    });
    for (let n = 0; n < ACKS; n++) {
      const reply = await socket.timeout(5_000).emitWithAck('ping', n) as { n: number; pid: number };
      outcome.ackPids.push(reply.pid);
    }
  } catch (error) {
    outcome.errors.push(`failed: ${(error as Error).message}`);
  } finally {
    socket.off('disconnect');
    socket.disconnect();
    agent.destroy();
  }
  return outcome;
}

describe('stateful apps under sticky', () => {
  it('socket.io with its default transports: 200 clients each get 5 acks, and no session is unknown to the worker it reaches', async () => {
    cli = await startCli('socketio-app.mjs', ['--workers', '2', '--policy', 'sticky'], { PORT: '0' });
    const outcomes: Outcome[] = [];
    for (let i = 0; i < CLIENTS; i += CONNECT_AT_ONCE) {
      const batch = Array.from({ length: Math.min(CONNECT_AT_ONCE, CLIENTS - i) }, (_, j) => converse(cli!.port, addressOf(i + j)));
      outcomes.push(...await Promise.all(batch));
    }
    const failures = outcomes.filter((outcome) => outcome.errors.length > 0 || outcome.ackPids.length !== ACKS);
    expect(failures.slice(0, 3), `${failures.length} of ${CLIENTS} clients failed`).toEqual([]);
    for (const outcome of outcomes) expect(new Set(outcome.ackPids)).toEqual(new Set([outcome.helloPid]));
    // The clients were spread: both workers served some.
    expect(new Set(outcomes.map((outcome) => outcome.helloPid)).size).toBe(2);
  }, 60_000);

  it('express-session with its MemoryStore: after logging in, 20 requests on new connections stay logged in', async () => {
    cli = await startCli('session-app.mjs', ['--workers', '2', '--policy', 'sticky'], { PORT: '0' });
    const localAddress = '127.2.0.1';
    const login = await request(cli.port, '/login', { method: 'POST', localAddress });
    expect(login.status).toBe(200);
    const cookie = String(login.headers['set-cookie']?.[0]).split(';')[0]!;
    expect(cookie).toMatch(/^connect\.sid=/);
    for (let i = 0; i < 20; i++) {
      const reply = await request(cli.port, '/restricted', { localAddress, headers: { cookie } });
      expect(reply.status, reply.body).toBe(200);
      expect(JSON.parse(reply.body)).toMatchObject({ user: 'tj' });
    }
  }, 30_000);
});
