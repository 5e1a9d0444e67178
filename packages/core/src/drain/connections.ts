import http from 'node:http';
import type net from 'node:net';
import tls from 'node:tls';
import { currentResponse } from '../node-internals.js';
import { assertInternals } from '../node-internals-check.js';
import { watchUpgrades } from './long-lived.js';

/** What a tracked server has open, for draining it (see drain-server.ts). */
export interface Tracked {
  /** Every connection as accepted (for TLS, the TCP socket under the TLS one): counted, awaited, cut. */
  sockets: Set<net.Socket>;
  /** The connections Node's HTTP/1 server reads requests from (for TLS, once the handshake is done). */
  http1: Set<net.Socket>;
  /** Connections handed to the app's 'upgrade' listeners (WebSockets): no longer HTTP/1. */
  upgraded: Set<net.Socket>;
  sessions: Set<Session>;
  /** The server's drain, once one began: it finishes what is open, once. */
  drained: Promise<number> | undefined;
  /** Told when a connection opens or closes (the worker reports its load to the primary). */
  onCountChange: (() => void) | undefined;
  /** The 'request' hook that closes shed connections is in place (added by the first shed()). */
  shedding: boolean;
  /** Asked after each connection closes until it answers true (see watchCloses). */
  closeWatch: (() => boolean) | undefined;
}

export interface Session {
  close(): void;
  destroy(): void;
  once(event: 'close', listener: () => void): void;
}

const tracked = new WeakMap<net.Server, Tracked>();
/** Keep-alive connections to close after their next response: shed to rebalance the cluster. */
const closeAfterNext = new WeakSet<net.Socket>();
/** Connections every tracked server accepted since this process started (a counter: closed servers' count stays). */
let accepted = 0;

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
    sockets: new Set(), http1: new Set(), upgraded: new Set(), sessions: new Set(), drained: undefined, onCountChange, shedding: false,
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
    if (state.drained !== undefined) session.close();
  });
}

let checked = false;

/**
 * For a server drained outside a worker's runtime (in-process mode, the Fastify plugin;
 * see drainServer): keeps its connections from now on. Call it before the server listens.
 * The first call checks the Node.js internals the drain needs (throws
 * ERR_CLUSTERIZE_NODE_INTERNALS; a worker checked them at start).
 */
export function trackConnections(server: net.Server): void {
  if (!checked) assertInternals('in-process');
  checked = true;
  track(server);
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
  if (state === undefined || state.drained !== undefined) return 0;
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

/** What `server` has open, tracked from now on if it was not yet. */
export function connectionsOf(server: net.Server): Tracked {
  track(server);
  return tracked.get(server)!;
}

/** HTTP/2 responses (the compatibility API) have no connection header: GOAWAY does that job. */
export function closeAfterResponse(response: unknown): void {
  if (response instanceof http.ServerResponse && !response.headersSent) response.setHeader('Connection', 'close');
}
