import { peerAddress, type ClientHandle, type ListenHandle } from '../node-internals.js';
import type { Acks, ListenQuery, Peer, PrimaryMessage, Sockname, Transport } from '../protocol.js';
import type { ClosedConnections } from './closed-connections.js';
import type { ClusterStats } from '../admin/cluster-stats.js';
import { WorkerTarget } from './hand-off.js';
import type { Balancer } from './policies/index.js';
import { Listener } from './listener.js';
import { PROXY_HEADER_TIMEOUT_MS, readProxyHeader } from '../proxy-protocol/proxy-header-reader.js';
import type { WorkerProcess } from '../supervision/worker-process.js';

/**
 * New connections beyond this many waiting for a worker (none is routable, each has
 * MAX_PENDING hand-offs unacknowledged, or each is at maxConnections) are closed at once:
 * each holds a descriptor in the primary, and a client is better told to retry than left
 * waiting without a bound.
 */
export const MAX_QUEUED = 4096;

export interface ForwardingSettings {
  /** The balancer wants each client's address. */
  readonly byClientAddress: boolean;
  /** Each connection starts with a PROXY protocol header, read here before the hand-off. */
  readonly proxyProtocol: boolean;
  /** Milliseconds a connection every routable worker turned away as full waits for one with room (0: it is closed at once). */
  readonly queueTimeout: number;
}

/**
 * Why workers could not take a connection: it goes to another; once every routable one
 * has turned it away it waits for room (when they are full) or is closed.
 */
interface Refusal {
  /** Workers that never received its descriptor: it is not sent to them again. */
  readonly lostBy: Set<WorkerProcess>;
  reason: 'full' | 'lost';
  /** Once it waits for a worker with room: when it is closed if none has taken it by then (performance.now()). */
  deadline?: number;
}

/**
 * The primary accepts here and hands each raw client handle to the worker the balancer
 * picks (hand-off.ts says what happens to it when that worker dies). It reads nothing the
 * client sends but, with proxyProtocol, the PROXY protocol header, and not a byte past it:
 * what the client sent early reaches the worker. A worker that never received the descriptor gets
 * another worker to take it, never the same one again. One whose server is at
 * maxConnections does too; when every routable worker is full, the connection waits here,
 * as in HAProxy's maxconn queue, until one reports room or `queueTimeout` runs out.
 * Waiting connections go out oldest first, and newer ones wait behind them rather than
 * try workers known to be full.
 */
export class ForwardingListener extends Listener {
  readonly transport: Transport = 'forward';
  private readonly byWorker = new Map<WorkerProcess, WorkerTarget>();
  protected readonly targets: WorkerTarget[] = [];
  private readonly queue: ClientHandle[] = [];
  /** Only connections some worker turned away, or that wait for room: empty on the usual path. */
  private readonly refusals = new Map<ClientHandle, Refusal>();
  /** Connections waiting for a worker with room, by deadline (oldest first): empty unless every routable worker is full. */
  private readonly waiting: ClientHandle[] = [];
  /** Closes the waiting connections whose deadline has passed; armed for the earliest one. */
  private waitTimer: NodeJS.Timeout | undefined;
  private waitTimerAt = Infinity;
  /** The clients PROXY protocol headers named; weak, so no path that closes a connection has to clean up. */
  private readonly peers = new WeakMap<ClientHandle, Peer>();
  private closing = false;

  constructor(
    key: string,
    query: ListenQuery,
    handle: ListenHandle,
    sockname: Sockname | null,
    private readonly balance: Balancer,
    private readonly settings: ForwardingSettings,
    private readonly closed: ClosedConnections,
    private readonly stats: ClusterStats,
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
    this.queue.unshift(...target.takeAll());
    this.flush();
  }

  override acknowledge(worker: WorkerProcess, acks: Acks): void {
    const target = this.byWorker.get(worker);
    if (target === undefined) return;
    let took = false;
    for (const id of acks.accepted) {
      const client = target.take(id);
      if (client === undefined) continue;
      took = true;
      client.close();
      if (this.refusals.size > 0) this.refusals.delete(client);
    }
    // One report can hold a hand-off taken and one turned away as full, in either order:
    // the take clears the mark first, so the report leaves the worker counted full (its
    // next close says otherwise). A close reported in it came after the full answer it follows.
    if (took) target.full = false;
    this.requeue(target, acks.refused);
    if (acks.full !== undefined && this.requeue(target, acks.full, 'full') > 0) target.full = true;
    if (acks.lost !== undefined) this.requeue(target, acks.lost, 'lost');
    if (acks.room !== undefined && acks.room.includes(this.key)) target.full = false;
    this.flush();
  }

  /** Hand-offs the worker turned away go first, ahead of newer connections; returns how many were this listener's. */
  private requeue(target: WorkerTarget, ids: readonly number[], reason?: Refusal['reason']): number {
    let count = 0;
    for (let i = ids.length - 1; i >= 0; i--) {
      const client = target.take(ids[i]!);
      if (client === undefined) continue;
      count++;
      if (reason !== undefined) this.refuse(client, target.worker, reason);
      this.queue.unshift(client);
    }
    return count;
  }

  private refuse(client: ClientHandle, worker: WorkerProcess, reason: Refusal['reason']): void {
    let refusal = this.refusals.get(client);
    if (refusal === undefined) this.refusals.set(client, refusal = { lostBy: new Set(), reason });
    refusal.reason = reason;
    if (reason === 'lost') refusal.lostBy.add(worker);
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
    if (this.queue.length + this.waiting.length >= MAX_QUEUED) {
      client.close();
      this.closed.overflow.add();
      return;
    }
    // Every routable worker is full: a newer connection waits behind those already waiting.
    if (this.waiting.length > 0) {
      const refusal: Refusal = { lostBy: new Set(), reason: 'full' };
      this.refusals.set(client, refusal);
      return this.wait(client, refusal);
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
      const candidates = refusal === undefined ? this.targets : this.withRoom(refusal);
      if (refusal !== undefined && candidates.length === 0 && this.targets.length > 0) {
        this.queue.shift();
        if (this.mayWait(refusal)) this.wait(client, refusal);
        else this.discard(client, refusal.reason);
        continue;
      }
      const target = this.pick(candidates, client);
      if (target === undefined) {
        if (this.closing && this.targets.length === 0) this.abandonQueue();
        return;
      }
      this.queue.shift();
      if (!this.handOff(target, client)) this.queue.unshift(client);
    }
    if (this.waiting.length > 0) this.serveWaiting();
  }

  /** False when the worker's channel is gone: the worker is no longer a target. */
  private handOff(target: WorkerTarget, client: ClientHandle): boolean {
    if (target.handOff(client, (id) => this.connMessage(id, client))) return true;
    this.drop(target);
    return false;
  }

  /** The workers a connection some worker turned away may go to now. */
  private withRoom(refusal: Refusal): WorkerTarget[] {
    return this.targets.filter((target) => !target.full && !refusal.lostBy.has(target.worker));
  }

  /** Whether a connection no routable worker can take now may wait: some of them are only full. */
  private mayWait(refusal: Refusal): boolean {
    return this.settings.queueTimeout > 0 && this.targets.some((target) => target.full && !refusal.lostBy.has(target.worker));
  }

  /** In deadline order: one that waited before and was turned away again goes back ahead of newer ones. */
  private wait(client: ClientHandle, refusal: Refusal): void {
    const now = performance.now();
    if (refusal.deadline === undefined) {
      refusal.deadline = now + this.settings.queueTimeout;
      this.stats.queued();
    }
    const deadline = refusal.deadline;
    if (deadline <= now) return this.discard(client, 'queueTimeout');
    let index = this.waiting.length;
    while (index > 0 && this.refusals.get(this.waiting[index - 1]!)!.deadline! > deadline) index--;
    this.waiting.splice(index, 0, client);
    this.armWaitTimer();
  }

  /** Hands waiting connections, oldest first, to workers that have reported room since they were full. */
  private serveWaiting(): void {
    while (this.waiting.length > 0) {
      const client = this.waiting[0]!;
      const target = this.pick(this.withRoom(this.refusals.get(client)!), client);
      if (target === undefined) {
        if (this.closing && this.targets.length === 0) this.abandonQueue();
        return;
      }
      this.waiting.shift();
      if (!this.handOff(target, client)) this.waiting.unshift(client);
    }
  }

  private armWaitTimer(): void {
    const first = this.waiting[0];
    if (first === undefined) return;
    const deadline = this.refusals.get(first)!.deadline!;
    if (this.waitTimer !== undefined && this.waitTimerAt <= deadline) return;
    clearTimeout(this.waitTimer);
    this.waitTimerAt = deadline;
    // Unref'ed: waiting connections must not keep a primary alive that is otherwise done.
    this.waitTimer = setTimeout(() => this.expireWaiting(), Math.ceil(deadline - performance.now())).unref();
  }

  private expireWaiting(): void {
    this.waitTimer = undefined;
    const now = performance.now();
    while (this.waiting.length > 0 && this.refusals.get(this.waiting[0]!)!.deadline! <= now) {
      this.discard(this.waiting.shift()!, 'queueTimeout');
    }
    this.armWaitTimer();
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

  /** Every routable worker turned it away, or it waited for room in vain. */
  private discard(client: ClientHandle, reason: Refusal['reason'] | 'queueTimeout'): void {
    client.close();
    this.refusals.delete(client);
    this.closed[reason].add();
  }

  /** The cluster is stopping (or the app closed its servers) and no worker is left to serve these: let the clients know. */
  private abandonQueue(): void {
    const clients = [...this.queue.splice(0), ...this.waiting.splice(0)];
    for (const client of clients) {
      client.close();
      this.refusals.delete(client);
    }
    this.closed.abandoned.add(clients.length);
  }
}
