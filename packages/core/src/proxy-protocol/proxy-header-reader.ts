import { socketOverHandle, type ClientHandle } from '../node-internals.js';
import type { Peer } from '../protocol.js';
import { HEADER_HEAD_BYTES, INVALID, missingBytes, parseHeader } from './proxy-protocol.js';

/**
 * Milliseconds a connection gets to send its whole PROXY protocol header. A proxy sends it
 * at once; a client that trickles bytes or sends nothing would otherwise hold a descriptor
 * in the primary for as long as it likes.
 */
export const PROXY_HEADER_TIMEOUT_MS = 5_000;

/** v2 TLVs are read into this and dropped: reads are synchronous, so every connection can share it. */
const discard = Buffer.allocUnsafe(4096);

/** peer: the header is read, and nothing after it; gone: the client closed or reset first. */
type HeaderOutcome = { peer: Peer | undefined } | 'invalid' | 'timeout' | 'gone';

/**
 * Reads the PROXY protocol header of a connection the primary accepted, then stops
 * reading, so the client's own bytes stay in the socket for the worker. A net.Socket over
 * the raw handle reads into buffers of our size (its `onread` option): never more than
 * the header still needs. Only the handle travels on to the worker; its socket here is
 * left to the garbage collector. On every outcome but `peer` the connection is closed.
 */
export function readProxyHeader(client: ClientHandle, timeout: number, done: (outcome: HeaderOutcome) => void): void {
  const head = Buffer.allocUnsafe(HEADER_HEAD_BYTES);
  let have = 0;
  let settled = false;
  const nextBuffer = (): Uint8Array => {
    const missing = Math.max(missingBytes(head, have), 1);
    if (have < head.length) return head.subarray(have, Math.min(head.length, have + missing));
    return discard.subarray(0, Math.min(discard.length, missing));
  };
  const read = (nread: number): boolean => {
    have += nread;
    const missing = missingBytes(head, have);
    if (missing > 0) return true;
    const peer = missing === INVALID ? null : parseHeader(head, have);
    finish(peer === null ? 'invalid' : { peer });
    return false;
  };
  const socket = socketOverHandle(client, { readable: true, writable: false, onread: { buffer: nextBuffer, callback: read } });
  const timer = setTimeout(() => finish('timeout'), timeout).unref();
  const finish = (outcome: HeaderOutcome) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.removeAllListeners();
    // Without a listener, a late error on a socket we no longer use would throw.
    socket.on('error', () => {});
    if (typeof outcome === 'object') socket.pause();
    else socket.destroy();
    done(outcome);
  };
  socket.on('error', () => finish('gone'));
  socket.on('end', () => finish('gone'));
}
