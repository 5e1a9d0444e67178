import http from 'node:http';
import type net from 'node:net';

interface Tracked {
  sockets: Set<net.Socket>;
  sessions: Set<{ close(): void; destroy(): void }>;
}

const tracked = new WeakMap<net.Server, Tracked>();

/** Keeps the open connections (and HTTP/2 sessions) of a server, for draining it. */
export function track(server: net.Server): void {
  if (tracked.has(server)) return;
  const state: Tracked = { sockets: new Set(), sessions: new Set() };
  tracked.set(server, state);
  server.on('connection', (socket: net.Socket) => {
    state.sockets.add(socket);
    socket.once('close', () => state.sockets.delete(socket));
  });
  // HTTP/2: server.close() leaves sessions open; they must be closed one by one.
  server.on('session', (session: { close(): void; destroy(): void; once(e: 'close', f: () => void): void }) => {
    state.sessions.add(session);
    session.once('close', () => state.sessions.delete(session));
  });
}

export function openConnections(server: net.Server): number {
  return tracked.get(server)?.sockets.size ?? 0;
}

type InFlight = http.ServerResponse & { headersSent: boolean };

function currentResponse(socket: net.Socket): InFlight | null {
  // Node's http server keeps the response being written on the socket.
  return (socket as net.Socket & { _httpMessage?: InFlight | null })._httpMessage ?? null;
}

function closeAfterResponse(response: http.ServerResponse): void {
  if (!response.headersSent) response.setHeader('Connection', 'close');
}

/**
 * Stops the server accepting, lets in-flight requests finish and closes each keep-alive
 * connection after its current response (`Connection: close`), idle ones at once. What is
 * still open at the deadline is destroyed. Resolves when every connection is gone.
 */
export function drainServer(server: net.Server, deadline: number): Promise<void> {
  const state = tracked.get(server) ?? { sockets: new Set<net.Socket>(), sessions: new Set() };
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  if (server instanceof http.Server) {
    server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => closeAfterResponse(res));
    for (const socket of state.sockets) {
      const response = currentResponse(socket);
      if (response === null) continue;
      if (!response.headersSent) closeAfterResponse(response);
      // Headers already gone out as keep-alive: end the socket once this response is done.
      else response.once('finish', () => setImmediate(() => currentResponse(socket) === null && socket.end()));
    }
    server.closeIdleConnections();
  }
  for (const session of state.sessions) session.close();
  const forceClose = setTimeout(() => {
    for (const session of state.sessions) session.destroy();
    for (const socket of state.sockets) socket.destroy();
  }, Math.max(0, deadline - Date.now()));
  return closed.finally(() => clearTimeout(forceClose));
}
