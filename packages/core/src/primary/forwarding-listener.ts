import type { ClientHandle, ListenHandle } from '../node-internals.js';
import type { ListenQuery, Sockname } from '../protocol.js';
import type { Balancer, Target } from './policies/index.js';
import { Listener } from './listener.js';
import type { WorkerProcess } from './worker-process.js';

/** One worker as this listener's balancer sees it, with the hand-offs it has not acknowledged. */
class Slot implements Target {
  readonly pendingHandoffs = new Map<number, ClientHandle>();

  constructor(readonly worker: WorkerProcess) {}

  get id(): number {
    return this.worker.id;
  }

  get pending(): number {
    return this.pendingHandoffs.size;
  }

  get connections(): number {
    return this.worker.connections;
  }
}

/**
 * The primary accepts here and hands each raw client handle to the worker the balancer
 * picks. Nothing is read in the primary, so no byte the client sent early is lost. The
 * primary keeps its copy of the handle until the worker acknowledges it; a handle a worker
 * refused (it is draining), or never acknowledged before it died, is dispatched again.
 */
export class ForwardingListener extends Listener {
  readonly transport = 'forward';
  private readonly slots = new Map<WorkerProcess, Slot>();
  private readonly targets: Slot[] = [];
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
    const slot = this.slotOf(worker);
    if (!this.targets.includes(slot)) this.targets.push(slot);
    this.flush();
  }

  unroute(worker: WorkerProcess): void {
    const slot = this.slots.get(worker);
    if (slot !== undefined) this.drop(slot);
    this.flush();
  }

  private drop(slot: Slot): void {
    const index = this.targets.indexOf(slot);
    if (index !== -1) this.targets.splice(index, 1);
  }

  override forget(worker: WorkerProcess): void {
    const slot = this.slots.get(worker);
    super.forget(worker);
    this.slots.delete(worker);
    if (slot === undefined) return;
    // Handed over but never acknowledged: the worker died with them in its channel.
    for (const client of [...slot.pendingHandoffs.values()].reverse()) this.queue.unshift(client);
    slot.pendingHandoffs.clear();
    this.flush();
  }

  override acknowledge(worker: WorkerProcess, accepted: readonly number[], refused: readonly number[]): void {
    const slot = this.slots.get(worker);
    if (slot === undefined) return;
    for (const id of accepted) {
      const client = slot.pendingHandoffs.get(id);
      if (client === undefined) continue;
      slot.pendingHandoffs.delete(id);
      client.close();
    }
    // A refused hand-off goes first, ahead of newer connections.
    for (const id of [...refused].reverse()) {
      const client = slot.pendingHandoffs.get(id);
      if (client === undefined) continue;
      slot.pendingHandoffs.delete(id);
      this.queue.unshift(client);
    }
    this.flush();
  }

  override get settled(): boolean {
    for (const slot of this.slots.values()) if (slot.pending > 0) return false;
    return true;
  }

  private enqueue(client: ClientHandle): void {
    this.queue.push(client);
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

  private flush(): void {
    while (this.queue.length > 0) {
      const target = this.pick();
      if (target === undefined) return;
      const client = this.queue.shift()!;
      const id = ++ForwardingListener.nextHandoff;
      target.pendingHandoffs.set(id, client);
      if (!target.worker.post({ act: 'conn', key: this.key, id }, client)) {
        target.pendingHandoffs.delete(id);
        this.drop(target);
        this.queue.unshift(client);
      }
    }
  }

  private slotOf(worker: WorkerProcess): Slot {
    let slot = this.slots.get(worker);
    if (slot === undefined) {
      slot = new Slot(worker);
      this.slots.set(worker, slot);
    }
    return slot;
  }

  private pick(): Slot | undefined {
    const picked = this.balance(this.targets) as Slot | undefined;
    if (picked !== undefined || !this.closing) return picked;
    if (this.targets.length > 0) {
      return this.targets.reduce((least, slot) => (slot.pending < least.pending ? slot : least));
    }
    // The cluster is stopping and no worker is left to serve these: let the clients know.
    for (const client of this.queue.splice(0)) client.close();
    return undefined;
  }
}
