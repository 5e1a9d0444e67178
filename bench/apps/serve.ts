// What every bench app shares: the headers the load generator counts, the CPU burn of the
// uneven-work scenario, and how the app listens (from the environment, so that one file
// runs as a single process, under node:cluster, under clusterize, under pm2 and as one of
// several reusePort processes).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ListenOptions } from 'node:net';

/**
 * Response headers: the pid of the process that served it, how many requests its connection
 * has carried, and which connection it was (`<pid>-<serial>`): behind a proxy, the only way
 * to count the proxy's upstream connections per worker.
 */
export const WORKER_HEADER = 'x-worker-pid';
export const SOCKET_REQUESTS_HEADER = 'x-socket-requests';
export const SOCKET_ID_HEADER = 'x-socket-id';

const served = new WeakMap<Socket, { id: string; requests: number }>();
let sockets = 0;

export function stamp(req: IncomingMessage, res: ServerResponse): void {
  let socket = served.get(req.socket);
  if (socket === undefined) {
    socket = { id: `${process.pid}-${++sockets}`, requests: 0 };
    served.set(req.socket, socket);
  }
  socket.requests++;
  res.setHeader(WORKER_HEADER, String(process.pid));
  res.setHeader(SOCKET_REQUESTS_HEADER, String(socket.requests));
  res.setHeader(SOCKET_ID_HEADER, socket.id);
}

/** Keeps the CPU busy for `ms` milliseconds (a request that computes rather than waits). */
export function burn(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** `/burn?ms=N` burns N ms (at most 100); any other path burns nothing. */
export function burnFor(url: string | undefined): number {
  const match = /^\/burn\?ms=(\d+)$/.exec(url ?? '');
  return match === null ? 0 : Math.min(Number(match[1]), 100);
}

export const BODY = { hello: 'world' };

export function listenOptions(): ListenOptions {
  return {
    port: Number(process.env.PORT ?? 0),
    host: process.env.HOST ?? '127.0.0.1',
    reusePort: process.env.BENCH_REUSE_PORT === '1',
  };
}

/** The line the launchers wait for. */
export function announce(address: unknown): void {
  if (address !== null && typeof address === 'object' && 'port' in address) {
    console.log(`listening on http://127.0.0.1:${String(address.port)}`);
  }
}
