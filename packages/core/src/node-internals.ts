/**
 * Every private Node.js internal clusterize builds on, typed and reached only here, and
 * self-tested where it is used before anything depends on it (node-internals-check.ts:
 * the primary when a cluster is created, each worker before its app runs, in-process mode
 * when a server is first tracked for draining). A Node release that changes one gives
 * the user one line naming it (ERR_CLUSTERIZE_NODE_INTERNALS) instead of misbehaviour.
 * Most are the seams Node's own cluster module uses, unchanged from Node 0.12 through 26.
 *
 * Each with where it is used, and its self-test (behavioural: the internal is made to do
 * its job on objects built in memory; structural: its presence is checked, where trying
 * it would cost more than a start can afford):
 *
 * 1. `cluster._getServer`: `lib/net.js` `listenInCluster` hands it every non-exclusive
 *    `listen()` when `cluster.isPrimary` (and `isMaster`) is false, so every listen form is
 *    parsed by Node and bind errors come back through Node's own error path. `lib/dgram.js`
 *    hands it every non-exclusive UDP `bind()` when `cluster.isWorker` is true, which a
 *    worker shows node:cluster code (worker/node-cluster-view.ts): see 16.
 *    Used: worker/runtime.ts (routeListenCalls). Self-test: worker, behavioural: a server's
 *    listen() reaches it.
 * 2. A server adopts the handle `_getServer` answers with (net.js `setupListenHandle`): it
 *    sets `onconnection`, calls `listen(backlog)`, later `ref()`/`unref()`, `close()`, and
 *    `getsockname()` for address(); each client handle it gets through `onconnection`
 *    becomes a net.Socket. Used: worker/proxy-handle.ts. Self-test: worker, behavioural: the
 *    same listen() adopts a ProxyHandle, and a client delivered through it reaches the
 *    server's 'connection'.
 * 3. `net._createServerHandle(address, port, addressType, fd, flags)` binds a socket without
 *    listening. Used: listeners/listener-registry.ts (the primary binds each port once),
 *    worker/runtime.ts (self-binding policies). Self-test: primary and worker, behavioural:
 *    binds port 0 on the wildcard address, never listens, closes it.
 * 4. A raw handle's methods: `listen`, `getsockname`, `getpeername`, `close`, `unref`, set
 *    `onconnection`; a pipe's `fchmod` (readableAll/writableAll). Used: listeners/,
 *    worker/proxy-handle.ts, listeners/listener-registry.ts (fchmod). Self-test: structural,
 *    on the handle of 3 (primary and worker); fchmod in the worker, on its stdout pipe's
 *    handle: the primary has no pipe handle to look at before it binds one, and forks its
 *    workers with its own Node binary.
 * 5. A net.Socket's `remoteAddress` comes from its handle's `getpeername()` (net.js
 *    `_getpeername`): presentPeer() shadows it with a PROXY protocol header's client.
 *    Used: worker/runtime.ts. Self-test: worker, behavioural: the client of 2 reports the
 *    peer presented.
 * 6. `new net.Socket({ handle, onread })` over a raw client handle. Used:
 *    proxy-protocol/proxy-header-reader.ts (primary). Self-test: primary, behavioural: a
 *    socket over the handle of 3 reports the peer presented on it.
 * 7. `'internalMessage'`: child_process emits there, not as 'message', every message whose
 *    `cmd` starts with `NODE_`, which keeps ours away from the app. Used: primary/cluster.ts,
 *    worker/runtime.ts, both through onInternalMessage. Self-test: worker, structural:
 *    child_process's own listener on `process` (its NODE_HANDLE_ACK handling); this covers
 *    the primary's end, the same Node.
 * 8. `process._send`: child_process sends its own messages (acknowledgements, queued
 *    handles) through it, not `process.send`, which worker/app-send.ts wraps. Self-test:
 *    worker, structural.
 * 9. Raw handles over IPC (child_process's `net.Native`): `send(message, tcpOrPipeHandle)`,
 *    arriving as the handle argument of 'internalMessage'. Used:
 *    supervision/worker-process.ts, worker/runtime.ts (hand-backs). Not self-tested: trying
 *    it takes a second process. Should it change, send() throws ERR_INVALID_HANDLE_TYPE.
 * 10. The `{ cmd: 'NODE_HANDLE', msg }` wrapper that reaches 'internalMessage' without a
 *    handle when the descriptor did not arrive (NODE_HANDLE_NACK). Used: worker/runtime.ts
 *    (messageOfLostHandle). Not self-tested: it takes a process out of file descriptors.
 *    Should it change, a lost hand-off waits for its worker's exit to go elsewhere.
 * 11. `process.channel.unrefCounted()` gives back the IPC channel reference a 'disconnect'
 *    listener takes. Used: worker/runtime.ts. Self-test: worker, structural.
 * 12. A stdio stream's `_handle.setBlocking(true)` (what tty.WriteStream calls on POSIX).
 *    Used: worker/output-pipes.ts. Self-test: worker, structural, on stdout's pipe handle.
 * 13. `socket._httpMessage`: the response Node's HTTP/1 server is writing on a connection.
 *    Used: drain/ (a connection is busy or idle; in-flight responses get
 *    `Connection: close`; shed): without it every connection would look idle and be ended
 *    mid-response. Self-test: worker and in-process, behavioural: ServerResponse's
 *    assignSocket(), which the server calls, sets it, and detachSocket() clears it.
 * 14. `response._header`: the head a response sent, with the headers `writeHead(status,
 *    headers)` sends and getHeader() never sees. Used: drain/long-lived.ts (is it an event
 *    stream). Self-test: worker, behavioural: writeHead() on a response fills it.
 * 15. `tls.Server#ticketKeys`, where a TLS server keeps its `ticketKeys` option. Used:
 *    worker/runtime.ts (shareTicketKeys, through hasOwnTicketKeys). Not self-tested: a TLS server costs
 *    about 10 ms to create in a fresh process. Should it change, keys the app set are
 *    replaced by the cluster's shared ones (resumption still works on every worker).
 * 16. `dgram.Socket#bind()` consults `cluster.isWorker` (1): a non-exclusive bind in a
 *    worker goes to `cluster._getServer`, where node:cluster's primary would share the
 *    socket. clusterize shares only TCP and pipe listeners, so every bind in a worker is made
 *    exclusive (bindDatagramsHere, public API only): the socket binds in the worker, as in a
 *    plain process. (Node's own maker of UDP handles, `dgram._createSocketHandle`, is gone
 *    in Node 26.) Used: routeListenCalls. Not self-tested: `exclusive` is documented.
 */
import cluster from 'node:cluster';
import dgram from 'node:dgram';
import type { EventEmitter } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type tls from 'node:tls';

export interface RawHandle {
  close(callback?: () => void): void;
  ref?(): void;
  unref?(): void;
}

/** A client connection's raw TCP or pipe handle (no net.Socket around it yet). */
export type ClientHandle = RawHandle;

export type OnConnection = (this: ListenHandle, status: number, client?: ClientHandle) => void;

export interface ListenHandle extends RawHandle {
  onconnection: OnConnection | null;
  listen(backlog: number): number;
  getsockname?(out: Record<string, unknown>): number;
}

/** What `lib/net.js` sends to `cluster._getServer` for one listen() call. */
export interface ServerQuery {
  address: string | null;
  port: number;
  addressType: number | null;
  fd?: number | null;
  flags?: number;
  backlog?: number;
  readableAll?: boolean;
  writableAll?: boolean;
}

export type GetServerCallback = (errno: number, handle: ListenHandle | null) => void;
type GetServer = (server: net.Server, query: ServerQuery, callback: GetServerCallback) => void;

/** What `lib/dgram.js` sends to `cluster._getServer` for one bind() (1, 16). */
interface DatagramQuery {
  address: string | null;
  port: number | null;
  addressType: 'udp4' | 'udp6';
  fd: number;
  flags: number | null;
}

interface ClusterSeam {
  isPrimary: boolean;
  isMaster: boolean;
  _getServer(server: unknown, query: ServerQuery | DatagramQuery, callback: GetServerCallback): void;
}

function isDatagram(query: ServerQuery | DatagramQuery): query is DatagramQuery {
  return query.addressType === 'udp4' || query.addressType === 'udp6';
}

/** Routes every non-exclusive listen() of this process to `getServer` (1); UDP sockets bind here (16). */
export function routeListenCalls(getServer: GetServer): void {
  const seam = cluster as unknown as ClusterSeam;
  seam.isPrimary = false;
  seam.isMaster = false;
  bindDatagramsHere();
  seam._getServer = (server, query, callback) => {
    // Every UDP bind is exclusive (16) and never comes here; one that did is refused, not shared.
    if (isDatagram(query)) return callback(UV_EINVAL, null);
    getServer(server as net.Server, query, callback);
  };
}

const UV_EINVAL = -22;

/** Makes every UDP bind() of this process exclusive (16): it binds here, never through the cluster. */
function bindDatagramsHere(): void {
  const prototype = dgram.Socket.prototype as unknown as { bind: (...args: unknown[]) => unknown; [BOUND_HERE]?: true };
  if (prototype[BOUND_HERE]) return;
  const bind = prototype.bind;
  prototype.bind = function bindExclusively(this: dgram.Socket, ...args: unknown[]) {
    return bind.apply(this, exclusively(args));
  };
  prototype[BOUND_HERE] = true;
}

const BOUND_HERE = Symbol('clusterize.datagrams-bound-here');

/**
 * bind()'s arguments, as the options form with `exclusive: true`: `bind(port, address, cb)`,
 * `bind(options, cb)` and `bind(cb)` alike. A handle passed as the first argument is left alone.
 */
export function exclusively(args: readonly unknown[]): unknown[] {
  const last = args.at(-1);
  const callback = typeof last === 'function' ? [last] : [];
  const [first, address] = typeof last === 'function' ? args.slice(0, -1) : args;
  if (first !== null && typeof first === 'object') {
    if (typeof (first as { recvStart?: unknown }).recvStart === 'function') return [...args];
    return [{ ...first, exclusive: true }, ...callback];
  }
  const port = first === undefined || first === null ? 0 : first;
  return [{ port, ...(typeof address === 'string' ? { address } : {}), exclusive: true }, ...callback];
}

/**
 * Calls `server.listen({ port: 0 })` with the seam routed to `getServer`, then puts the seam
 * back as it was: port 0 and no host reach it synchronously. Returns whether it was reached.
 */
export function listenThroughSeam(server: net.Server, getServer: GetServer): boolean {
  const seam = cluster as unknown as ClusterSeam;
  const saved = { isPrimary: seam.isPrimary, isMaster: seam.isMaster, getServer: seam._getServer };
  let reached = false;
  routeListenCalls((...args) => {
    reached = true;
    getServer(...args);
  });
  try {
    server.listen({ port: 0 });
  } catch {
    // A listen() that throws did not reach the seam either.
  } finally {
    seam.isPrimary = saved.isPrimary;
    seam.isMaster = saved.isMaster;
    seam._getServer = saved.getServer;
  }
  return reached;
}

type CreateServerHandle = (
  address: string | null, port: number, addressType: number | null, fd: number | null | undefined, flags?: number,
) => ListenHandle | number;

function createServerHandle(): CreateServerHandle | undefined {
  const create = (net as unknown as { _createServerHandle?: unknown })._createServerHandle;
  return typeof create === 'function' ? create as CreateServerHandle : undefined;
}

export function canBindWithoutListening(): boolean {
  return createServerHandle() !== undefined;
}

/** Binds (without listening) and returns the handle, or a negative errno (3). */
export function bindHandle(query: ServerQuery, flags = query.flags ?? 0): ListenHandle | number {
  return createServerHandle()!(query.address, query.port, query.addressType, query.fd, flags);
}

/** libuv's `UV_TCP_REUSEPORT` bind flag (uv.h `uv_tcp_flags`), what `listen({ reusePort })` sets. */
export const UV_TCP_REUSEPORT = 2;

/** The methods clusterize calls on a raw TCP handle (4). */
const RAW_HANDLE_METHODS = ['listen', 'getsockname', 'getpeername', 'close', 'unref'] as const;

/** Those of RAW_HANDLE_METHODS `handle` lacks. */
export function missingMethods(handle: object, methods: readonly string[] = RAW_HANDLE_METHODS): string[] {
  return methods.filter((method) => typeof (handle as Record<string, unknown>)[method] !== 'function');
}

export function sockname(handle: ListenHandle): { address: string; family: string; port: number } | undefined {
  if (typeof handle.getsockname !== 'function') return undefined;
  const out: Record<string, unknown> = {};
  return handle.getsockname(out) === 0 ? out as { address: string; family: string; port: number } : undefined;
}

/** Sets a bound pipe's permissions (libuv's UV_READABLE | UV_WRITABLE), as listen({ readableAll }) does (4). */
export function setPipeMode(handle: ListenHandle, mode: number): number {
  return (handle as ListenHandle & { fchmod(mode: number): number }).fchmod(mode);
}

/** Reused for every call: reading a client's address allocates nothing but the string. */
const peer: { address?: string } = {};

/** A client handle's remote address (getpeername), or '' where it has none (a pipe) or has already gone. */
export function peerAddress(client: ClientHandle): string {
  const { getpeername } = client as ClientHandle & { getpeername?: (out: object) => number };
  peer.address = undefined;
  if (getpeername === undefined || getpeername.call(client, peer) !== 0) return '';
  return peer.address ?? '';
}

/**
 * Makes a client handle report `peer` as its remote end (5). A net.Socket's remoteAddress,
 * remotePort and remoteFamily, and those of a TLS socket over it, come from the TCP
 * handle's getpeername(): an own method shadows the native one for this connection only.
 */
export function presentPeer(client: ClientHandle, peer: { address: string; port: number; family: string }): void {
  (client as ClientHandle & { getpeername(out: Record<string, unknown>): number }).getpeername = (out) => {
    out.address = peer.address;
    out.port = peer.port;
    out.family = peer.family;
    return 0;
  };
}

/** A net.Socket over a raw client handle (6): `handle` is an option Node reads but does not document. */
export function socketOverHandle(client: ClientHandle, options: Omit<net.SocketConstructorOpts, 'handle'>): net.Socket {
  return new net.Socket({ ...options, handle: client as never });
}

/**
 * Whether a TLS server was given its own `ticketKeys` option (15): Node keeps it there, and
 * `setTicketKeys()` does not update it.
 */
export function hasOwnTicketKeys(server: tls.Server): boolean {
  return (server as tls.Server & { ticketKeys?: Buffer }).ticketKeys !== undefined;
}

/** Listens for the messages child_process delivers as 'internalMessage' (7): those whose cmd starts with `NODE_`. */
export function onInternalMessage(target: EventEmitter, listener: (message: unknown, handle: unknown) => void): void {
  target.on('internalMessage', listener);
}

/** Whether child_process handles its own NODE_ messages on this process's 'internalMessage' (7), in a process with a channel. */
export function childProcessUsesInternalMessage(): boolean {
  return process.channel === undefined || process.listenerCount('internalMessage') > 0;
}

/** Whether child_process has its own send (8), beside the `process.send` apps use. */
export function childProcessSendsAside(): boolean {
  return process.send === undefined || typeof (process as { _send?: unknown })._send === 'function';
}

/** A stdio stream's libuv handle (12; in a worker, a pipe's), where Node has one. */
export function stdioHandle(stream: NodeJS.WriteStream): { setBlocking?: unknown; fchmod?: unknown } | undefined {
  return (stream as unknown as { _handle?: { setBlocking?: unknown; fchmod?: unknown } })._handle;
}

/** Makes writes to `stream` (a pipe) synchronous, as Node's are to a TTY or a file, where Node lets it (12). */
export function setBlockingWrites(stream: NodeJS.WriteStream): void {
  const handle = stdioHandle(stream) as { setBlocking?: (blocking: boolean) => number } | undefined;
  handle?.setBlocking?.(true);
}

type Channel = NonNullable<typeof process.channel> & { unrefCounted?: () => void };

/** Whether the IPC channel (if any) counts references (11). */
export function channelCountsRefs(): boolean {
  const channel = process.channel as Channel | undefined;
  return channel === undefined || typeof channel.unrefCounted === 'function';
}

/**
 * A 'disconnect' listener refs the IPC channel (child_process counts 'message' and
 * 'disconnect' listeners), which would keep a worker alive after its app closed every
 * server. This gives back the one reference our own listener took, so the worker lives
 * as long as the app's own handles, as a lone process would (11).
 */
export function releaseChannelRef(): void {
  (process.channel as Channel | undefined)?.unrefCounted?.();
}

/**
 * child_process sends a message that carries a handle wrapped as `{ cmd: 'NODE_HANDLE', msg }`.
 * When the descriptor does not arrive (recvmsg reports MSG_CTRUNC, e.g. this process is out
 * of file descriptors), Node answers NODE_HANDLE_NACK and drops `msg`; only the wrapper
 * reaches 'internalMessage', without a handle (10). The sender neither resends nor closes a
 * raw handle (lib/internal/child_process.js retransmits only net.Socket), so it still holds
 * the connection. Returns the dropped message.
 */
export function messageOfLostHandle(message: unknown, handle: unknown): unknown {
  if (handle != null || message === null || typeof message !== 'object') return undefined;
  const wrapper = message as { cmd?: unknown; msg?: unknown };
  return wrapper.cmd === 'NODE_HANDLE' ? wrapper.msg : undefined;
}

/** The response Node's HTTP/1 server is writing on `socket`, if any (13). */
export function currentResponse(socket: net.Socket): http.ServerResponse | null {
  return (socket as net.Socket & { _httpMessage?: http.ServerResponse | null })._httpMessage ?? null;
}

type WithHead = http.ServerResponse & { _header?: string | null };

/** The head `response` sent (what `headersSent` reads), headers given to writeHead() included (14). */
export function sentHead(response: http.ServerResponse): string | undefined {
  const head = (response as WithHead)._header;
  return typeof head === 'string' ? head : undefined;
}

/** Whether `headersSent` still answers from `_header` (14), tried on a response that never ran its constructor. */
export function headersSentReadsHead(): boolean {
  const response = Object.create(http.ServerResponse.prototype) as WithHead;
  response._header = 'HTTP/1.1 200 OK\r\n\r\n';
  const sent = response.headersSent;
  response._header = null;
  return sent && !response.headersSent;
}
