import type { ListenHandle } from '../node-internals.js';
import type { Sockname, Transport } from '../protocol.js';
import type { WorkerProcess } from './worker-process.js';

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
    protected readonly handle: ListenHandle,
    readonly sockname: Sockname | null,
    protected readonly backlog: number,
  ) {}

  /** Called once after binding; a non-zero errno means the port cannot be served. */
  abstract start(): number;

  /** The worker is ready and registered: give it connections. */
  abstract route(worker: WorkerProcess): void;

  /** The worker is draining, closed its server or exited: give it no more. */
  abstract unroute(worker: WorkerProcess): void;

  /** A worker acknowledged hand-offs and may take more. */
  flush(): void {}

  private handleClosed = false;

  close(): void {
    if (this.handleClosed) return;
    this.handleClosed = true;
    this.handle.close();
  }
}
