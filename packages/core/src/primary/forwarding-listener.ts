import type { ClientHandle, ListenHandle } from '../node-internals.js';
import type { ListenQuery, Sockname } from '../protocol.js';
import type { Balancer } from './policies/index.js';
import { Listener } from './listener.js';
import type { WorkerProcess } from './worker-process.js';

/**
 * The primary accepts here and hands each raw client handle to the worker the balancer
 * picks. Nothing is read in the primary, so no byte the client sent early is lost. The
 * primary keeps its copy of the handle until the worker acknowledges it; a handle a worker
 * refused (it is draining), or never acknowledged before it died, is dispatched again.
 */
export class ForwardingListener extends Listener {
  readonly transport = 'forward';
  private readonly targets: WorkerProcess[] = [];
  private readonly queue: ClientHandle[] = [];
  private closing = false;
  private static nextHandoff = 0;

  constructor(
    key: string,
    query: ListenQuery,
    handle: ListenHandle,
    sockname: Sockname | null,
    private readonly balance: Balancer,
  ) {
    super(key, query, handle, sockname);
  }

  start(): number {
    this.handle.onconnection = (status, client) => {
      if (status === 0 && client !== undefined) this.enqueue(client);
    };
    return this.handle.listen(this.backlog);
  }

  route(worker: WorkerProcess): void {
    if (!this.targets.includes(worker)) this.targets.push(worker);
    this.flush();
  }

  unroute(worker: WorkerProcess): void {
    const index = this.targets.indexOf(worker);
    if (index !== -1) this.targets.splice(index, 1);
    this.flush();
  }

  enqueue(client: ClientHandle): void {
    this.queue.push(client);
    this.flush();
  }

  /** A refused or orphaned hand-off goes first, ahead of newer connections. */
  retry(client: ClientHandle): void {
    this.queue.unshift(client);
    this.flush();
  }

  /**
   * Stops accepting. What is already queued goes out now, ahead of the drain message on
   * each worker's channel, so the workers serve it before they drain.
   */
  override close(): void {
    if (this.closing) return;
    this.closing = true;
    super.close();
    this.flush();
  }

  override flush(): void {
    while (this.queue.length > 0) {
      const target = this.pick();
      if (target === undefined) return;
      const client = this.queue.shift()!;
      const id = ++ForwardingListener.nextHandoff;
      target.pendingHandoffs.set(id, { key: this.key, client });
      if (!target.post({ act: 'conn', key: this.key, id }, client)) {
        target.pendingHandoffs.delete(id);
        this.unroute(target);
        this.queue.unshift(client);
      }
    }
  }

  private pick(): WorkerProcess | undefined {
    const picked = this.balance(this.targets) as WorkerProcess | undefined;
    if (picked !== undefined || !this.closing) return picked;
    if (this.targets.length > 0) {
      return this.targets.reduce((least, worker) => (worker.pending < least.pending ? worker : least));
    }
    // The cluster is stopping and no worker is left to serve these: let the clients know.
    for (const client of this.queue.splice(0)) client.close();
    return undefined;
  }
}
