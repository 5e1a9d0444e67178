import http from 'node:http';
import type net from 'node:net';
import tls from 'node:tls';
import { closeWebSocket, currentResponse, endEventStreams, watchUpgrades } from './long-lived.js';

interface Tracked {
  /** Every connection as accepted (for TLS, the TCP socket under the TLS one): counted, awaited, cut. */
  sockets: Set<net.Socket>;
  /** The connections Node's HTTP/1 server reads requests from (for TLS, once the handshake is done). */
  http1: Set<net.Socket>;
  /** Connections handed to the app's 'upgrade' listeners (WebSockets): no longer HTTP/1. */
  upgraded: Set<net.Socket>;
  sessions: Set<Session>;
  draining: boolean;
  /** Told when a connection opens or closes (the worker reports its load to the primary). */
  onCountChange: (() => void) | undefined;
  /** The 'request' hook that closes shed connections is in place (added by the first shed()). */
  shedding: boolean;
  /** Asked after each connection closes until it answers true (see watchCloses). */
  closeWatch: (() => boolean) | undefined;
}

interface Session {
  close(): void;
  destroy(): void;
  once(event: 'close', listener: () => void): void;
}

const tracked = new WeakMap<net.Server, Tracked>();
/** Keep-alive connections to close after their next response: shed to rebalance the cluster. */
const closeAfterNext = new WeakSet<net.Socket>();
/** Connections every tracked server accepted since this process started (a counter: closed servers' count stays). */
let accepted = 0;

/** How often a draining worker looks for idle keep-alive connections to close. */
const IDLE_CHECK_MS = 100;
/**
 * A keep-alive connection is closed while draining only after it has been idle this long.
 * Closing one the moment its response ends races a client that is already sending its
 * next request (ECONNRESET on pooled clients, nodejs/node#47130); a client that is busy
 * gets `Connection: close` on its next response instead.
 */
const IDLE_GRACE_MS = 300;

/**
 * Whether Node's HTTP/1 server reads this connection: every one of an http or an https
 * server (both have closeIdleConnections, which HTTP/2 servers lack; https.Server is no
 * http.Server), and on an HTTP/2 server with allowHTTP1 those whose TLS handshake did not
 * pick h2. An HTTP/2 server is the one with updateSettings.
 */
function speaksHttp1(server: net.Server, socket: net.Socket): boolean {
  if (typeof (server as Partial<http.Server>).closeIdleConnections === 'function') return true;
  const http2 = typeof (server as { updateSettings?: unknown }).updateSettings === 'function';
  return http2 && socket instanceof tls.TLSSocket && socket.alpnProtocol !== 'h2';
}

/**
 * Keeps the open connections (and HTTP/2 sessions) of a server, for draining it;
 * `onCountChange` is told whenever one opens or closes.
 */
export function track(server: net.Server, onCountChange?: () => void): void {
  const existing = tracked.get(server);
  if (existing !== undefined) {
    existing.onCountChange = onCountChange ?? existing.onCountChange;
    return;
  }
  const state: Tracked = {
    sockets: new Set(), http1: new Set(), upgraded: new Set(), sessions: new Set(), draining: false, onCountChange, shedding: false,
    closeWatch: undefined,
  };
  tracked.set(server, state);
  const keepHttp1 = (socket: net.Socket) => {
    if (!speaksHttp1(server, socket)) return;
    state.http1.add(socket);
    socket.once('close', () => state.http1.delete(socket));
  };
  server.on('connection', (socket: net.Socket) => {
    accepted++;
    state.sockets.add(socket);
    state.onCountChange?.();
    socket.once('close', () => {
      state.sockets.delete(socket);
      state.onCountChange?.();
      if (state.closeWatch?.() === true) state.closeWatch = undefined;
    });
    if (!(server instanceof tls.Server)) keepHttp1(socket);
  });
  // TLS: requests are read from the TLS socket, which exists once the handshake is done.
  if (server instanceof tls.Server) server.on('secureConnection', keepHttp1);
  watchUpgrades(server, state.upgraded, state.http1);
  // HTTP/2: server.close() leaves sessions open; they must be closed one by one. One whose
  // handshake ends during a drain is closed at once.
  server.on('session', (session: Session) => {
    state.sessions.add(session);
    session.once('close', () => state.sessions.delete(session));
    if (state.draining) session.close();
  });
}

/**
 * Asks up to `count` HTTP/1 keep-alive connections of `server` to close after their next
 * response (`Connection: close`), as the drain does, so that their clients reconnect,
 * elsewhere. Only connections between two requests, or whose response has not started,
 * are picked: a long response (an event stream) would never end to carry it. Returns how
 * many were picked.
 */
export function shed(server: net.Server, count: number): number {
  const state = tracked.get(server);
  if (state === undefined || state.draining) return 0;
  // Only servers that were asked to shed pay for the check, on each request from then on.
  if (!state.shedding) {
    state.shedding = true;
    server.prependListener('request', (req: http.IncomingMessage, res: unknown) => {
      if (closeAfterNext.delete(req.socket)) closeAfterResponse(res);
    });
  }
  let picked = 0;
  for (const socket of state.http1) {
    if (picked >= count) break;
    if (closeAfterNext.has(socket) || socket.destroyed) continue;
    const response = currentResponse(socket);
    if (response === null) closeAfterNext.add(socket);
    else if (response instanceof http.ServerResponse && !response.headersSent) closeAfterResponse(response);
    else continue;
    picked++;
  }
  return picked;
}

/**
 * Asks `check` after each connection of `server` closes, until it answers true: a worker
 * that turned a connection away at maxConnections tells the primary once it has room,
 * and only then pays for a call per close.
 */
export function watchCloses(server: net.Server, check: () => boolean): void {
  const state = tracked.get(server);
  if (state !== undefined) state.closeWatch = check;
}

/** Connections the tracked servers of this process have accepted since it started. */
export function acceptedConnections(): number {
  return accepted;
}

export function openConnections(server: net.Server): number {
  return tracked.get(server)?.sockets.size ?? 0;
}

/** HTTP/2 responses (the compatibility API) have no connection header: GOAWAY does that job. */
function closeAfterResponse(response: unknown): void {
  if (response instanceof http.ServerResponse && !response.headersSent) response.setHeader('Connection', 'close');
}

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
 * Drains a server that no longer gets new connections: in-flight requests finish, each
 * HTTP/1 keep-alive connection (http, https, HTTP/2's allowHTTP1) closes after its current
 * response (`Connection: close`) or once idle, HTTP/2 sessions get GOAWAY and finish their
 * open streams. `politely` (the app has no 'drain' listener to close long-lived connections
 * itself): event streams are ended and WebSockets get a close frame (see long-lived.ts).
 * What is still open at the deadline is destroyed. The server is closed last, when it has
 * no connection left, because http.Server#close closes idle connections at once (the race
 * above). Resolves with the number of connections cut at the deadline.
 */
export async function drainServer(server: net.Server, deadline: number, politely = false): Promise<number> {
  track(server);
  const state = tracked.get(server)!;
  state.draining = true;
  server.prependListener('request', (_req: unknown, res: unknown) => closeAfterResponse(res));
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
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return cut;
}
