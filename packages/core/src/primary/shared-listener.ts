import type { ListenHandle } from '../node-internals.js';
import type { Transport } from '../protocol.js';
import { Listener } from './listener.js';
import type { WorkerProcess } from './worker-process.js';

/**
 * Workers accept on the primary's own socket: a ready worker gets a copy of the listening
 * handle, a draining one closes its copy. The primary never listens on it itself (its event
 * loop would accept), so the first worker's listen() puts the socket in the listening state.
 */
export class SharedListener extends Listener {
  readonly transport: Transport = 'shared';

  start(): number {
    return 0;
  }

  override handleForListen(): ListenHandle | undefined {
    return this.handle;
  }

  route(worker: WorkerProcess): void {
    worker.post({ act: 'accept', key: this.key }, this.handle);
  }

  unroute(worker: WorkerProcess): void {
    worker.post({ act: 'pause', key: this.key });
  }
}

/**
 * Each worker binds its own SO_REUSEPORT socket on the port the primary reserved (bound,
 * never listening, so the kernel sends it nothing).
 */
export class ReusePortListener extends SharedListener {
  override readonly transport = 'self';

  override handleForListen(): ListenHandle | undefined {
    return undefined;
  }

  override route(worker: WorkerProcess): void {
    worker.post({ act: 'accept', key: this.key });
  }
}
