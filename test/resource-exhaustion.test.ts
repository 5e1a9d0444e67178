import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { request, startCli, within, type Started } from './helpers.ts';

let cluster: Started | undefined;
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await cluster?.stop('SIGKILL');
  cluster = undefined;
});

const FD_LIMIT = 256;
const CONNECTIONS = 1_000;

/** Opens `count` connections that each send an unfinished request, so the server holds them. */
function flood(port: number, count: number): void {
  for (let i = 0; i < count; i++) {
    const socket = net.connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n'));
    socket.on('error', () => {});
    // Bounded: a connection the test forgets still closes on its own.
    socket.setTimeout(20_000, () => socket.destroy());
    sockets.push(socket);
  }
}

/** Asks until a request is answered, for at most `ms`. */
async function answered(port: number, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return (await request(port)).status;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
  }
}

describe('a worker out of file descriptors', () => {
  it('keeps answering heartbeats (memory is read without throwing) and serves again once the load stops', async () => {
    const running = await startCli('fd-starved.mjs', ['--policy', 'shared', '--workers', '2', '--heartbeat-timeout', '2000']);
    cluster = running;
    const workers = (await running.waitForCount(/^listening (\d+)$/m, 2)).map((match) => Number(match[1]));
    for (const pid of workers) execFileSync('prlimit', ['--pid', String(pid), `--nofile=${FD_LIMIT}:${FD_LIMIT}`]);
    flood(running.port, CONNECTIONS);
    const crashed = running.waitFor(/clusterize: worker \d+ \(pid \d+\) .*(exited|killed|replac)/, 25_000).then((match) => {
      throw new Error(`a worker went away: ${match[0]}\n${running.output()}`);
    });
    crashed.catch(() => {});
    for (const pid of workers) {
      // Two heartbeats each while starved: the first one is what used to crash the worker.
      const starved = running.waitForCount(new RegExp(`^ping while out of descriptors ${pid}$`, 'm'), 2, 20_000);
      await Promise.race([starved, crashed]);
    }
    for (const socket of sockets.splice(0)) socket.destroy();
    expect(await within(answered(running.port, 10_000), 12_000, 'an answer after the load')).toBe(200);
    expect(running.output()).not.toMatch(/clusterize: worker \d+ \(pid \d+\)/);
    expect(running.child.exitCode).toBeNull();
  });
});
