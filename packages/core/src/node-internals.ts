/**
 * The few Node.js internals clusterize builds on, typed in one place. Each is the seam
 * Node's own cluster module uses, unchanged from Node 0.12 through 26:
 *
 * - `lib/net.js` `listenInCluster` sends a non-exclusive `listen()` to `cluster._getServer`
 *   whenever `cluster.isPrimary` is false. Workers set both, so every listen form (port,
 *   host, options, IPv6, pipe, port 0) is parsed by Node itself and reaches us as a query,
 *   and bind errors come back through Node's own error path with the real code.
 * - `net._createServerHandle` binds a socket without listening, so the primary can own a
 *   port without accepting on it.
 * - A server adopts whatever `_handle` it is given: it sets `onconnection`, calls
 *   `listen(backlog)` and later `close()`, and reads the address with `getsockname()`.
 * - A stdio stream's `_handle.setBlocking(true)`, which `tty.WriteStream` calls on POSIX,
 *   makes its writes synchronous. Not checked: without it a worker's output pipes stay
 *   asynchronous, as in any Node process, and only lose what is queued at `process.exit()`.

 *
 * node-internals-check.ts tests them where they are used, before anything depends on them.
 */
import cluster from 'node:cluster';
import net from 'node:net';

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

interface ClusterSeam {
  isPrimary: boolean;
  isMaster: boolean;
  _getServer: GetServer;
}

/**
 * Whether net.Server#listen() still hands a non-exclusive listen() to `cluster._getServer`
 * when the process is not the primary. Tried with a server that never binds (port 0 and no
 * host reach the seam synchronously); the seam is left as it was.
 */
export function listenReachesGetServer(): boolean {
  const seam = cluster as unknown as ClusterSeam;
  const saved = { isPrimary: seam.isPrimary, isMaster: seam.isMaster, getServer: seam._getServer };
  let reached = false;
  seam.isPrimary = false;
  seam.isMaster = false;
  seam._getServer = () => {
    reached = true;
  };
  try {
    net.createServer().listen({ port: 0 });
  } catch {
    // A listen() that throws did not reach the seam either.
  } finally {
    seam.isPrimary = saved.isPrimary;
    seam.isMaster = saved.isMaster;
    seam._getServer = saved.getServer;
  }
  return reached;
}

/** Routes every non-exclusive listen() of this process to `getServer`. */
export function routeListenCalls(getServer: GetServer): void {
  const seam = cluster as unknown as ClusterSeam;
  seam.isPrimary = false;
  seam.isMaster = false;
  seam._getServer = getServer;
}

type CreateServerHandle = (
  address: string | null, port: number, addressType: number | null, fd: number | null | undefined, flags?: number,
) => ListenHandle | number;

/** Binds (without listening) and returns the handle, or a negative errno. */
export function bindHandle(query: ServerQuery, flags = query.flags ?? 0): ListenHandle | number {
  const create = (net as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle;
  return create(query.address, query.port, query.addressType, query.fd, flags);
}

/** libuv's `UV_TCP_REUSEPORT` bind flag (uv.h `uv_tcp_flags`), what `listen({ reusePort })` sets. */
export const UV_TCP_REUSEPORT = 2;

export function sockname(handle: ListenHandle): { address: string; family: string; port: number } | undefined {
  if (typeof handle.getsockname !== 'function') return undefined;
  const out: Record<string, unknown> = {};
  return handle.getsockname(out) === 0 ? out as { address: string; family: string; port: number } : undefined;
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
 * Makes a client handle report `peer` as its remote end. A net.Socket's remoteAddress,
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

/** Makes writes to `stream` (a pipe) synchronous, as Node's are to a TTY or a file, where Node lets it. */
export function setBlockingWrites(stream: NodeJS.WriteStream): void {
  const handle = (stream as unknown as { _handle?: { setBlocking?: (blocking: boolean) => number } })._handle;
  handle?.setBlocking?.(true);
}

/**
 * A 'disconnect' listener refs the IPC channel (child_process counts 'message' and
 * 'disconnect' listeners), which would keep a worker alive after its app closed every
 * server. This gives back the one reference our own listener took, so the worker lives
 * as long as the app's own handles, as a lone process would.
 */
export function releaseChannelRef(): void {
  const channel = process.channel as (NonNullable<typeof process.channel> & { unrefCounted?: () => void }) | undefined;
  channel?.unrefCounted?.();
}

/**
 * child_process sends a message that carries a handle wrapped as `{ cmd: 'NODE_HANDLE', msg }`.
 * When the descriptor does not arrive (recvmsg reports MSG_CTRUNC, e.g. this process is out
 * of file descriptors), Node answers NODE_HANDLE_NACK and drops `msg`; only the wrapper
 * reaches 'internalMessage', without a handle. The sender neither resends nor closes a raw
 * handle (lib/internal/child_process.js retransmits only net.Socket), so it still holds
 * the connection. Returns the dropped message.
 */
export function messageOfLostHandle(message: unknown, handle: unknown): unknown {
  if (handle != null || message === null || typeof message !== 'object') return undefined;
  const wrapper = message as { cmd?: unknown; msg?: unknown };
  return wrapper.cmd === 'NODE_HANDLE' ? wrapper.msg : undefined;
}
