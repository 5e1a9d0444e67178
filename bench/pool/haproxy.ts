// A real HAProxy in front of a contender, holding a pool of keep-alive connections to it as
// a deployment's would: HAProxy's defaults (`http-reuse safe`, keep-alive on both sides),
// one server line for the contender's port. A fresh HAProxy per pool, so every pool opens
// its upstream connections together and closes them all when HAProxy is killed.
import { startHaproxy } from '../../test/haproxy.ts';
import { freePort } from '../../test/helpers.ts';

function config(socket: string, front: number, port: number): string {
  return [
    'global',
    `  stats socket ${socket} level admin`,
    'defaults',
    '  mode http',
    '  option http-keep-alive',
    '  http-reuse safe',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    'frontend front',
    `  bind 127.0.0.1:${front}`,
    '  default_backend app',
    'backend app',
    `  server app 127.0.0.1:${port}`,
    '',
  ].join('\n');
}

/** Runs `use` with the port of a new HAProxy in front of `port`; HAProxy is killed (and has exited) afterwards. */
export async function throughHaproxy<T>(port: number, use: (front: number) => Promise<T>): Promise<T> {
  const front = await freePort();
  const haproxy = await startHaproxy(front, (socket) => config(socket, front, port));
  try {
    return await use(front);
  } finally {
    await haproxy.kill();
  }
}
