import { peerAddress, type ClientHandle, type ListenHandle } from '../node-internals.js';
import type { Acks, ListenQuery, Peer, PrimaryMessage, Sockname, Transport } from '../protocol.js';
import type { ClosedConnections } from './closed-connections.js';
import type { Balancer, Target } from './policies/index.js';
import { Listener } from './listener.js';
import { PROXY_HEADER_TIMEOUT_MS, readProxyHeader } from './proxy-header-reader.js';
import type { WorkerProcess } from './worker-process.js';

/**
 * New connections beyond this many waiting for a worker (none is routable, or each has
 * MAX_PENDING hand-offs unacknowledged) are closed at once: each holds a descriptor in
 * the primary, and a client is better told to retry than left waiting without a bound.
 */
export const MAX_QUEUED = 4096;

/** One worker as this listener's balancer sees it, with the hand-offs it has not acknowledged. */
class WorkerTarget implements Target {
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

  get slot(): number {
    return this.worker.slot;
  }

  get generation(): number {
    return this.worker.generation;
  }

  /** The hand-off is settled: it is no longer pending here. */
  take(id: number): ClientHandle | undefined {
    const client = this.pendingHandoffs.get(id);
    if (client !== undefined) this.pendingHandoffs.delete(id);
    return client;
  }
}

export interface ForwardingSettings {
  /** The balancer wants each client's address. */
  readonly byClientAddress: boolean;
  /** Each connection starts with a PROXY protocol header, read here before the hand-off. */
  readonly proxyProtocol: boolean;
}

/** Workers that could not take a connection: it goes to another, or is closed once every routable one has refused it. */
interface Refusal {
  readonly by: Set<WorkerProcess>;
  reason: 'full' | 'lost';
}

/**
 * The primary accepts here and hands each raw client handle to the worker the balancer
 * picks. Nothing is read in the primary, so no byte the client sent early is lost. The
 * primary keeps its copy of the handle until the worker acknowledges it; a handle a worker
 * refused (it is draining), or never acknowledged before it died, is dispatched again. A
 * worker whose server is at maxConnections, or which never received the descriptor, gets
 * another worker to take it; never the same one again.
 */
export class ForwardingListener extends Listener {
  readonly transport: Transport = 'forward';
  private readonly byWorker = new Map<WorkerProcess, WorkerTarget>();
  protected readonly targets: WorkerTarget[] = [];
  private readonly queue: ClientHandle[] = [];
  /** Only connections some worker turned away: empty on the usual path. */
  private readonly refusals = new Map<ClientHandle, Refusal>();
  /** The clients PROXY protocol headers named; weak, so no path that closes a connection has to clean up. */
  private readonly peers = new WeakMap<ClientHandle, Peer>();
  private closing = false;
  private static nextHandoff = 0;

  constructor(
    key: string,
    query: ListenQuery,
    handle: ListenHandle,
    sockname: Sockname | null,
    private readonly balance: Balancer,
    private readonly settings: ForwardingSettings,
    private readonly closed: ClosedConnections,
  ) {
    super(key, query, handle, sockname);
  }

  start(): number {
    this.handle.onconnection = (status, client) => {
      if (status !== 0 || client === undefined) return;
      if (this.settings.proxyProtocol) this.readHeader(client);
      else this.enqueue(client);
    };
    return this.handle.listen(this.backlog);
  }

  route(worker: WorkerProcess): void {
    const target = this.targetOf(worker);
    if (!this.targets.includes(target)) this.targets.push(target);
    this.flush();
  }

  unroute(worker: WorkerProcess): void {
    const target = this.byWorker.get(worker);
    if (target !== undefined) this.drop(target);
    this.flush();
  }

  private drop(target: WorkerTarget): void {
    const index = this.targets.indexOf(target);
    if (index !== -1) this.targets.splice(index, 1);
  }

  override forget(worker: WorkerProcess): void {
    const target = this.byWorker.get(worker);
    super.forget(worker);
    this.byWorker.delete(worker);
    if (target === undefined) return;
    // Handed over but never acknowledged: the worker died with them in its channel.
    for (const client of [...target.pendingHandoffs.values()].reverse()) this.queue.unshift(client);
    target.pendingHandoffs.clear();
    this.flush();
  }

  override acknowledge(worker: WorkerProcess, acks: Acks): void {
    const target = this.byWorker.get(worker);
    if (target === undefined) return;
    for (const id of acks.accepted) {
      const client = target.take(id);
      if (client === undefined) continue;
      client.close();
      if (this.refusals.size > 0) this.refusals.delete(client);
    }
    this.requeue(target, acks.refused);
    if (acks.full !== undefined) this.requeue(target, acks.full, 'full');
    if (acks.lost !== undefined) this.requeue(target, acks.lost, 'lost');
    this.flush();
  }

  /** Hand-offs the worker turned away go first, ahead of newer connections. */
  private requeue(target: WorkerTarget, ids: readonly number[], reason?: Refusal['reason']): void {
    for (let i = ids.length - 1; i >= 0; i--) {
      const client = target.take(ids[i]!);
      if (client === undefined) continue;
      if (reason !== undefined) this.refuse(client, target.worker, reason);
      this.queue.unshift(client);
    }
  }

  private refuse(client: ClientHandle, worker: WorkerProcess, reason: Refusal['reason']): void {
    const refusal = this.refusals.get(client);
    if (refusal === undefined) {
      this.refusals.set(client, { by: new Set([worker]), reason });
      return;
    }
    refusal.by.add(worker);
    refusal.reason = reason;
  }

  override get settled(): boolean {
    for (const target of this.byWorker.values()) if (target.pending > 0) return false;
    return true;
  }

  /** Queued once its header is read; each connection reads its own, so a slow one holds up no other. */
  private readHeader(client: ClientHandle): void {
    readProxyHeader(client, PROXY_HEADER_TIMEOUT_MS, (outcome) => {
      if (outcome === 'invalid') return this.closed.badProxyHeader.add();
      if (outcome === 'timeout') return this.closed.slowProxyHeader.add();
      if (outcome === 'gone') return;
      if (outcome.peer !== undefined) this.peers.set(client, outcome.peer);
      this.enqueue(client);
    });
  }

  protected enqueue(client: ClientHandle): void {
    if (this.queue.length >= MAX_QUEUED) {
      client.close();
      this.closed.overflow.add();
      return;
    }
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
      const client = this.queue[0]!;
      const refusal = this.refusals.size === 0 ? undefined : this.refusals.get(client);
      const candidates = refusal === undefined ? this.targets : this.targets.filter((target) => !refusal.by.has(target.worker));
      if (refusal !== undefined && candidates.length === 0 && this.targets.length > 0) {
        this.queue.shift();
        this.discard(client, refusal.reason);
        continue;
      }
      const target = this.pick(candidates, client);
      if (target === undefined) {
        if (this.closing && this.targets.length === 0) this.abandonQueue();
        return;
      }
      this.queue.shift();
      const id = ++ForwardingListener.nextHandoff;
      target.pendingHandoffs.set(id, client);
      if (!target.worker.post(this.connMessage(id, client), client)) {
        target.pendingHandoffs.delete(id);
        this.drop(target);
        this.queue.unshift(client);
      }
    }
  }

  private connMessage(id: number, client: ClientHandle): PrimaryMessage {
    const peer = this.settings.proxyProtocol ? this.peers.get(client) : undefined;
    return peer === undefined ? { act: 'conn', key: this.key, id } : { act: 'conn', key: this.key, id, peer };
  }

  /** The address the balancer hashes: the PROXY header's client where there is one. */
  private clientAddress(client: ClientHandle): string {
    if (!this.settings.byClientAddress) return '';
    return (this.settings.proxyProtocol ? this.peers.get(client)?.address : undefined) ?? peerAddress(client);
  }

  private targetOf(worker: WorkerProcess): WorkerTarget {
    let target = this.byWorker.get(worker);
    if (target === undefined) {
      target = new WorkerTarget(worker);
      this.byWorker.set(worker, target);
    }
    return target;
  }

  private pick(candidates: readonly WorkerTarget[], client: ClientHandle): WorkerTarget | undefined {
    const picked = this.balance(candidates, this.clientAddress(client)) as WorkerTarget | undefined;
    if (picked !== undefined || !this.closing || candidates.length === 0) return picked;
    // Stopping: what is queued goes out now even to a busy worker, ahead of its drain message.
    return candidates.reduce((least, target) => (target.pending < least.pending ? target : least));
  }

  /** Every routable worker turned it away. */
  private discard(client: ClientHandle, reason: Refusal['reason']): void {
    client.close();
    this.refusals.delete(client);
    this.closed[reason].add();
  }

  /** The cluster is stopping (or the app closed its servers) and no worker is left to serve these: let the clients know. */
  private abandonQueue(): void {
    const clients = this.queue.splice(0);
    for (const client of clients) {
      client.close();
      this.refusals.delete(client);
    }
    this.closed.abandoned.add(clients.length);
  }
}
