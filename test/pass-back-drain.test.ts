// A worker above its share under `shared` passes new connections back to the primary, one
// descriptor per message; child_process writes each only once the primary acknowledged the
// previous one. A worker that drains must not exit with such messages still queued: the
// connection would be closed with nothing read.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startCli, until, within, workerPids, type Started } from './helpers.ts';

let cluster: Started | undefined;
let stopped: number | undefined;
afterEach(async () => {
  if (stopped !== undefined) process.kill(stopped, 'SIGCONT');
  stopped = undefined;
  await cluster?.close();
  cluster = undefined;
});

/** Connections waiting in the accept queue of the IPv4 socket listening on `port` (from /proc/net/tcp). */
function acceptQueue(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local && fields[3] === '0A') return parseInt(fields[4]!.split(':')[1]!, 16);
  }
  throw new Error(`no socket listening on 127.0.0.1:${port}`);
}

/** A process that has exited (a zombie its stopped parent has not reaped) or is gone. */
function ended(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

/** One request on its own connection: the status line, or the error that ended it. */
function ask(port: number, connected: () => void): Promise<string> {
  return new Promise((resolve) => {
    let reply = '';
    const socket = net.connect(port, '127.0.0.1', () => {
      connected();
      socket.write('GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => { reply += chunk; });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(`${error.code} after ${reply.length} bytes`));
    socket.on('close', () => resolve(reply.split('\r\n')[0] || 'closed with nothing read'));
  });
}

describe('connections passed back to the primary by a draining worker', () => {
  it('are all served: the worker exits only once every pass-back is written to the primary', async () => {
    cluster = await startCli('hello.mjs', ['--policy', 'shared', '--workers', '2'], { HOST: '127.0.0.1' });
    const { port } = cluster;
    const workers = [...await workerPids(port, 2)];
    // With the primary stopped, no pass-back is acknowledged: each worker's later ones queue up.
    stopped = cluster.child.pid!;
    process.kill(stopped, 'SIGSTOP');
    const count = 40;
    let connected = 0;
    const replies = Array.from({ length: count }, () => ask(port, () => connected++));
    await until(() => connected === count && acceptQueue(port) === 0, 10_000, 'every connection accepted by a worker');
    // Both workers drain (as if an operator signalled them); what they passed back is still queued.
    for (const pid of workers) process.kill(pid, 'SIGTERM');
    // A worker that would exit with its queue full does so now; one that waits for its
    // pass-backs to be written cannot finish before the primary runs again.
    await until(() => workers.every(ended), 2_000, 'the workers exiting').catch(() => undefined);
    process.kill(stopped, 'SIGCONT');
    stopped = undefined;
    const statuses = await within(Promise.all(replies), 20_000, 'every reply');
    expect(statuses.filter((status) => status !== 'HTTP/1.1 200 OK')).toEqual([]);
    await cluster.waitFor(/is draining on its own/);
  });
});
