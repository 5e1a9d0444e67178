import http from 'node:http';
import type net from 'node:net';

interface Tracked {
  sockets: Set<net.Socket>;
  sessions: Set<Session>;
}

interface Session {
  close(): void;
  destroy(): void;
  once(event: 'close', listener: () => void): void;
}

const tracked = new WeakMap<net.Server, Tracked>();

/** How often a draining worker looks for idle keep-alive connections to close. */
const IDLE_CHECK_MS = 100;
/**
 * A keep-alive connection is closed while draining only after it has been idle this long.
 * Closing one the moment its response ends races a client that is already sending its
 * next request (ECONNRESET on pooled clients, nodejs/node#47130); a client that is busy
 * gets `Connection: close` on its next response instead.
 */
const IDLE_GRACE_MS = 300;

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
  server.on('session', (session: Session) => {
    state.sessions.add(session);
    session.once('close', () => state.sessions.delete(session));
  });
}

export function openConnections(server: net.Server): number {
  return tracked.get(server)?.sockets.size ?? 0;
}

function currentResponse(socket: net.Socket): http.ServerResponse | null {
  // Node's http server keeps the response being written on the socket.
  return (socket as net.Socket & { _httpMessage?: http.ServerResponse | null })._httpMessage ?? null;
}

function closeAfterResponse(response: http.ServerResponse): void {
  if (!response.headersSent) response.setHeader('Connection', 'close');
}

/** Ends keep-alive connections that stay idle for IDLE_GRACE_MS; returns a stop function. */
function closeWhenIdle(sockets: Set<net.Socket>): () => void {
  const seen = new Map<net.Socket, { bytesRead: number; idleSince: number }>();
  const timer = setInterval(() => {
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
 * Drains a server that no longer gets new connections: in-flight requests finish, each
 * keep-alive connection closes after its current response (`Connection: close`) or once
 * idle, HTTP/2 sessions get GOAWAY. What is still open at the deadline is destroyed.
 * The server is closed last, when it has no connection left, because http.Server#close
 * closes idle connections at once (the race above).
 */
export async function drainServer(server: net.Server, deadline: number): Promise<void> {
  const state = tracked.get(server) ?? { sockets: new Set<net.Socket>(), sessions: new Set<Session>() };
  let stopIdle = () => {};
  if (server instanceof http.Server) {
    server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => closeAfterResponse(res));
    for (const socket of state.sockets) {
      const response = currentResponse(socket);
      if (response !== null) closeAfterResponse(response);
    }
    stopIdle = closeWhenIdle(state.sockets);
  }
  for (const session of state.sessions) session.close();
  const forceClose = setTimeout(() => {
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
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
