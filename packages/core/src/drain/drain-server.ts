import type http from 'node:http';
import type net from 'node:net';
import { closeAfterResponse, connectionsOf, type Tracked } from './connections.js';
import { currentResponse } from '../node-internals.js';
import { closeWebSocket, endEventStreams } from './long-lived.js';

/** How often a draining server looks for idle keep-alive connections to close. */
const IDLE_CHECK_MS = 100;
/**
 * A keep-alive connection is closed while draining only after it has been idle this long.
 * Closing one the moment its response ends races a client that is already sending its
 * next request (ECONNRESET on pooled clients, nodejs/node#47130); a client that is busy
 * gets `Connection: close` on its next response instead.
 */
const IDLE_GRACE_MS = 300;

/**
 * Ends keep-alive connections that stay idle for IDLE_GRACE_MS (and, `politely`, event
 * streams, including those that start during the drain); returns a stop function.
 */
function closeWhenIdle(sockets: Set<net.Socket>, politely: boolean): () => void {
  const seen = new Map<net.Socket, { bytesRead: number; idleSince: number }>();
  const timer = setInterval(() => {
    if (politely) endEventStreams(sockets);
    const now = Date.now();
    for (const socket of sockets) {
      const last = seen.get(socket);
      const busy = currentResponse(socket) !== null;
      if (busy || last === undefined || last.bytesRead !== socket.bytesRead) {
        seen.set(socket, { bytesRead: socket.bytesRead, idleSince: now });
      } else if (now - last.idleSince >= IDLE_GRACE_MS) {
        socket.end();
      }
    }
  }, IDLE_CHECK_MS);
  return () => clearInterval(timer);
}

/**
 * The drain every role shares (a worker, in-process mode, the Fastify plugin's close()):
 * in-flight requests finish, each HTTP/1 keep-alive connection (http, https, HTTP/2's
 * allowHTTP1) closes after its current response (`Connection: close`) or once idle for
 * IDLE_GRACE_MS, HTTP/2 sessions get GOAWAY and finish their open streams. `politely` (the
 * app has no 'drain' listener to close long-lived connections itself): event streams are
 * ended and WebSockets get a close frame (see long-lived.ts). What is still open at
 * `deadline` is destroyed. Resolves with the number of connections the deadline cut; a
 * server already draining resolves when that drain ends, with 0 (the first one counted).
 *
 * `close: false` (the app closes its server itself, in its own shutdown): once drained the
 * server is unref'd instead of closed, so it no longer holds the process, and the app's
 * own close() still finds it running (http-terminator throws when it does not).
 *
 * Stopping new connections is the caller's, as it differs by role: a worker lets go of the
 * socket it accepts on, and its server is closed here, last, once no connection is left
 * (http.Server#close closes the idle ones at once: the race above); in-process mode closes
 * the server first, and Fastify's close() does right after its preClose hooks. The server
 * must have been tracked since it listened (track(), or trackConnections() for adapters).
 */
export function drainServer(server: net.Server, deadline: number, politely = false, { close = true }: { close?: boolean } = {}): Promise<number> {
  const state = connectionsOf(server);
  if (state.drained !== undefined) return state.drained.then(() => 0);
  state.drained = drain(server, state, deadline, politely, close);
  return state.drained;
}

async function drain(server: net.Server, state: Tracked, deadline: number, politely: boolean, close: boolean): Promise<number> {
  server.prependListener('request', (_req: unknown, res: unknown) => closeAfterResponse(res));
  // The app's own server.close() in its shutdown hook would close every idle keep-alive
  // connection at once (Node >= 19), racing a client already sending its next request on
  // it (ECONNRESET): the drain closes those itself, once idle for IDLE_GRACE_MS.
  const http1 = server as Partial<http.Server>;
  if (typeof http1.closeIdleConnections === 'function') http1.closeIdleConnections = () => {};
  for (const socket of state.http1) closeAfterResponse(currentResponse(socket));
  if (politely) {
    endEventStreams(state.http1);
    for (const socket of state.upgraded) closeWebSocket(socket);
  }
  const stopIdle = closeWhenIdle(state.http1, politely);
  for (const session of state.sessions) session.close();
  let cut = 0;
  const forceClose = setTimeout(() => {
    cut = state.sockets.size;
    for (const session of state.sessions) session.destroy();
    for (const socket of state.sockets) socket.destroy();
  }, Math.max(0, deadline - Date.now()));
  await new Promise<void>((resolve) => {
    const check = () => {
      if (state.sockets.size > 0 || state.sessions.size > 0) return;
      clearInterval(poll);
      resolve();
    };
    const poll = setInterval(check, IDLE_CHECK_MS / 2);
    check();
  });
  stopIdle();
  clearTimeout(forceClose);
  if (!close) server.unref();
  else if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  return cut;
}
