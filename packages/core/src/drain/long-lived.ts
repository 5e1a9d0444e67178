import http from 'node:http';
import type net from 'node:net';
import { currentResponse, sentHead } from '../node-internals.js';

/**
 * Closing the long-lived connections an app does not close itself when its worker drains:
 * Server-Sent Events streams and WebSockets would otherwise stay open until the shutdown
 * deadline cuts them (curl exits 18, a WebSocket client sees 1006).
 */

/** 1001 Going Away (RFC 6455 7.4.1): the server is going away; clients reconnect. */
const WEBSOCKET_CLOSE_CODE = 1001;
/**
 * How long after our close frame an upgraded socket is ended, whether or not the client
 * (or the app's WebSocket library, which answers the client's close frame and ends the
 * socket itself) has finished the closing handshake.
 */
const WEBSOCKET_CLOSE_GRACE_MS = 1_000;
/** How often a socket the app is still writing to is looked at again for a frame boundary. */
const FRAME_BOUNDARY_POLL_MS = 10;

/** An unmasked (server-to-client) close frame: FIN + opcode 8, payload length 2, the code. */
const CLOSE_FRAME = Buffer.from([0x88, 0x02, WEBSOCKET_CLOSE_CODE >> 8, WEBSOCKET_CLOSE_CODE & 0xff]);

/**
 * Keeps the sockets `server` hands to its 'upgrade' listeners in `upgraded` (and out of
 * `http1`: they speak another protocol now). Our listener is there only while the app has
 * one of its own: Node answers an upgrade request as a plain request when nobody listens,
 * and a listener of ours alone would change that.
 */
export function watchUpgrades(server: net.Server, upgraded: Set<net.Socket>, http1: Set<net.Socket>): void {
  const onUpgrade = (_req: unknown, socket: net.Socket) => {
    http1.delete(socket);
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
  };
  server.on('newListener', (event: string | symbol, listener: unknown) => {
    if (event === 'upgrade' && listener !== onUpgrade && server.listenerCount('upgrade') === 0) server.on('upgrade', onUpgrade);
  });
  server.on('removeListener', (event: string | symbol, listener: unknown) => {
    if (event === 'upgrade' && listener !== onUpgrade && server.listeners('upgrade').every((l) => l === onUpgrade)) {
      server.off('upgrade', onUpgrade);
    }
  });
  if (server.listenerCount('upgrade') > 0) server.on('upgrade', onUpgrade);
}

/**
 * Whether `response` is an event stream still being written. `writeHead(status, headers)`
 * sends headers that getHeader() never sees; the head as sent has them.
 */
function isOpenEventStream(response: http.ServerResponse): boolean {
  if (response.writableEnded) return false;
  const type = response.getHeader('content-type');
  if (typeof type === 'string') return /^text\/event-stream\b/i.test(type);
  const head = sentHead(response);
  return head !== undefined && /\r\ncontent-type:\s*text\/event-stream\b/i.test(head);
}

/**
 * Ends the event streams in flight on `sockets` with their terminating chunk: the client
 * sees a complete response and reconnects (EventSource does by itself).
 */
export function endEventStreams(sockets: Iterable<net.Socket>): void {
  for (const socket of sockets) {
    const response = currentResponse(socket);
    if (!(response instanceof http.ServerResponse) || !isOpenEventStream(response)) continue;
    // The app's timer may write once more before it hears 'close': that write fails
    // (ERR_STREAM_WRITE_AFTER_END), and it is ours, not the app's, so it must not crash it.
    response.on('error', ignore);
    response.end();
  }
}

/**
 * Sends a close frame on an upgraded socket, between two of the app's frames, and ends
 * the socket WEBSOCKET_CLOSE_GRACE_MS later. The socket is raw: the only boundary we can
 * be sure of is a moment when nothing the app wrote is waiting to go out and no write is
 * corked (WebSocket libraries write a frame in one synchronous cork/write/uncork). Until
 * then, the frame waits; a socket never quiet within the grace is ended without it.
 */
export function closeWebSocket(socket: net.Socket): void {
  const giveUpAt = Date.now() + WEBSOCKET_CLOSE_GRACE_MS;
  const attempt = () => {
    if (socket.destroyed || socket.writableEnded) return;
    if (socket.writableLength === 0 && socket.writableCorked === 0) {
      socket.write(CLOSE_FRAME);
      setTimeout(() => socket.end(), WEBSOCKET_CLOSE_GRACE_MS).unref();
    } else if (Date.now() >= giveUpAt) {
      socket.end();
    } else {
      setTimeout(attempt, FRAME_BOUNDARY_POLL_MS).unref();
    }
  };
  attempt();
}

function ignore(): void {}
