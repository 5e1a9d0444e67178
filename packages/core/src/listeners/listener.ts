import type { ClientHandle, ListenHandle } from '../node-internals.js';
import type { Acks, ListenQuery, Sockname, Transport } from '../protocol.js';
import type { WorkerProcess } from '../supervision/worker-process.js';

/**
 * A port (or pipe) the primary holds for its workers' servers. Workers register when
 * their server listens; the primary routes connections to a registered worker once it
 * is ready, and stops (unroute) when it drains or exits. The socket stays open while the
 * cluster runs, even with no worker left, so a replacement finds the same port and the
 * kernel's accept queue.
 */
export abstract class Listener {
  abstract readonly transport: Transport;
  readonly registered = new Set<WorkerProcess>();

  constructor(
    readonly key: string,
    readonly query: ListenQuery,
    protected readonly handle: ListenHandle,
    readonly sockname: Sockname | null,
  ) {}

  protected get backlog(): number {
    return this.query.backlog ?? 511;
  }

  /** Called once after binding; a non-zero errno means the port cannot be served. */
  abstract start(): number;

  /** The worker is ready and registered: give it connections. */
  abstract route(worker: WorkerProcess): void;

  /** The worker is draining, closed its server or exited: give it no more. */
  abstract unroute(worker: WorkerProcess): void;

  /**
   * The socket a worker's own listen() is tried on before its server counts as listening
   * (shared sockets), so that errors only listen(2) reports reach the worker's server.
   */
  handleForListen(): ListenHandle | undefined {
    return undefined;
  }

  /** The worker exited: give it no more, and serve elsewhere what it never took. */
  forget(worker: WorkerProcess): void {
    this.registered.delete(worker);
    this.unroute(worker);
  }

  /** Nothing handed over is waiting for an acknowledgement. */
  get settled(): boolean {
    return true;
  }

  /**
   * The worker reports which hand-offs (ids, across all listeners) it took and which it
   * turned away; a listener that forwards nothing has nothing to settle.
   */
  acknowledge(_worker: WorkerProcess, _acks: Acks): void {}

  /**
   * A worker passed back a connection it accepted on its own copy of the socket (it was at
   * its cap, see SharedListener); `connections` is its count as it sent it. Only listeners
   * whose workers accept themselves take them: elsewhere it is closed.
   */
  passedBack(_worker: WorkerProcess, client: ClientHandle, _connections: number): void {
    client.close();
  }

  /** A worker reported its open connections. */
  loadChanged(): void {}

  private handleClosed = false;

  close(): void {
    if (this.handleClosed) return;
    this.handleClosed = true;
    this.handle.close();
  }
}
