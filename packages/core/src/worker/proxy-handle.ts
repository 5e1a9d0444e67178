import type { ClientHandle, ListenHandle, OnConnection } from '../node-internals.js';
import type { Sockname } from '../protocol.js';

// A 2^31-1 ms interval keeps the event loop alive without ever firing (as Node's own
// round-robin handle does): a ref'ed server must hold the process open like a real one.
export const FOREVER = 2 ** 31 - 1;

/**
 * The listening handle a worker's server adopts. The server treats it as its own socket
 * (sets `onconnection`, reads the address, closes it); connections come either from a
 * real listening socket attached to it (shared, reuseport) or one by one from the primary
 * (forwarding). Either way they enter the server through Node's own `onconnection`, so
 * connection tracking, timeouts and maxConnections hold as for a socket it accepted.
 */
export class ProxyHandle implements ListenHandle {
  onconnection: OnConnection | null = null;
  getsockname?: (out: Record<string, unknown>) => number;
  private source: ListenHandle | null = null;
  private keepAlive: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    readonly key: string,
    address: Sockname | null,
    private readonly onClose: (proxy: ProxyHandle) => void,
    /** Offered each connection accepted on an attached socket first; true: it took it, the server never sees it. */
    private readonly passBack: (client: ClientHandle) => boolean = () => false,
  ) {
    // Only TCP handles have getsockname; for a pipe, Server#address() returns the path.
    if (address !== null) {
      this.getsockname = (out) => {
        Object.assign(out, address);
        return 0;
      };
    }
    this.ref();
  }

  listen(): number {
    return 0;
  }

  /** A connection handed over by the primary. */
  deliver(client: ClientHandle): void {
    this.onconnection?.call(this, 0, client);
  }

  /** Starts accepting on a real listening socket (the primary's shared one, or our own). */
  attach(source: ListenHandle, backlog: number): number {
    this.detach();
    source.onconnection = (status, client) => {
      if (status === 0 && client !== undefined && this.passBack(client)) return;
      this.onconnection?.call(this, status, client);
    };
    const errno = source.listen(backlog);
    if (errno !== 0) {
      source.close();
      return errno;
    }
    this.source = source;
    // Whether the process stays alive is the server's ref()/unref(), kept by this proxy.
    source.unref?.();
    return 0;
  }

  /** Stops accepting: closes our copy of the socket; its queue stays with the other copies. */
  detach(): void {
    this.source?.close();
    this.source = null;
  }


  close(callback?: () => void): void {
    if (this.closed) return;
    this.closed = true;
    this.detach();
    this.unref();
    this.onClose(this);
    if (callback !== undefined) process.nextTick(callback);
  }

  ref(): void {
    this.keepAlive ??= setInterval(() => {}, FOREVER);
  }

  unref(): void {
    if (this.keepAlive !== null) clearInterval(this.keepAlive);
    this.keepAlive = null;
  }
}
