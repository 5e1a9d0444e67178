import type { ClientHandle, ListenHandle } from '../node-internals.js';
import type { ListenQuery, Sockname, Transport } from '../protocol.js';
import type { ClosedConnections } from './closed-connections.js';
import type { ClusterStats } from '../admin/cluster-stats.js';
import { acceptCap, excessOf, PeakMean, REBALANCE_AFTER_MS, SHED_HOLD_MS } from './fair-share.js';
import { ForwardingListener } from './forwarding-listener.js';
import { leastConnections } from './policies/least-connections.js';
import type { WorkerProcess } from '../supervision/worker-process.js';

/**
 * Workers accept on the primary's own socket: a ready worker gets a copy of the listening
 * handle, a draining one closes its copy. The primary never listens on it itself (its event
 * loop would accept), so the first worker's listen() puts the socket in the listening state.
 *
 * The kernel hands a burst of connections to whichever worker has the CPU. So each worker
 * also gets a cap (see fair-share.ts): past it, the worker passes new connections back, and
 * the primary forwards each to the worker with the fewest open connections, over the same
 * path the forwarding policies use. Short connections rarely reach the cap: they cost no IPC.
 */
export class SharedListener extends ForwardingListener {
  override readonly transport: Transport = 'shared';
  /** The cap each routed worker was last sent. */
  private readonly caps = new Map<WorkerProcess, number | null>();
  /** Since when each worker has been above its share, and when it was last asked to shed. */
  private readonly overSince = new Map<WorkerProcess, number>();
  private readonly shedAt = new Map<WorkerProcess, number>();
  private readonly peakMean = new PeakMean();
  /** Looks again once a worker above its share has been so for REBALANCE_AFTER_MS, reports or not. */
  private recheck: NodeJS.Timeout | undefined;

  constructor(key: string, query: ListenQuery, handle: ListenHandle, sockname: Sockname | null, closed: ClosedConnections, stats: ClusterStats) {
    // No waiting for room: the workers accept on their own meanwhile, so no order would hold.
    super(key, query, handle, sockname, leastConnections.createBalancer!(), { byClientAddress: false, proxyProtocol: false, queueTimeout: 0 }, closed, stats);
  }

  override start(): number {
    return 0;
  }

  override handleForListen(): ListenHandle | undefined {
    return this.handle;
  }

  override route(worker: WorkerProcess): void {
    super.route(worker);
    this.updateCaps();
    this.startAccepting(worker);
  }

  override unroute(worker: WorkerProcess): void {
    worker.post({ act: 'pause', key: this.key });
    this.caps.delete(worker);
    this.overSince.delete(worker);
    this.shedAt.delete(worker);
    super.unroute(worker);
    this.updateCaps();
  }

  protected startAccepting(worker: WorkerProcess): void {
    worker.post({ act: 'accept', key: this.key }, this.handle);
  }

  /** A worker at its cap passed a connection back; `connections` is its count as it sent it. */
  override passedBack(worker: WorkerProcess, client: ClientHandle, connections: number): void {
    worker.passedBackOne(connections);
    this.enqueue(client);
    this.updateCaps();
  }

  override loadChanged(): void {
    this.updateCaps();
  }

  /** Sends each routed worker its cap when it changed, and asks one that stays far above its share to shed. */
  private updateCaps(): void {
    let total = 0;
    for (const target of this.targets) total += target.connections + target.pending;
    const workers = this.targets.length;
    const now = Date.now();
    const cap = acceptCap(this.peakMean.update(workers === 0 ? 0 : total / workers, now), workers);
    for (const { worker } of this.targets) {
      if (this.caps.get(worker) !== cap) {
        this.caps.set(worker, cap);
        worker.post({ act: 'share', key: this.key, cap });
      }
      this.rebalance(worker, excessOf(worker.connections, total, workers), Math.ceil(total / workers), now);
    }
  }

  private rebalance(worker: WorkerProcess, excess: number, mean: number, now: number): void {
    if (excess === 0) {
      this.overSince.delete(worker);
      return;
    }
    const since = this.overSince.get(worker);
    if (since === undefined) {
      this.overSince.set(worker, now);
      // A pool that stays skewed sends no reports: only heartbeats, up to a second apart.
      this.recheck ??= setTimeout(() => {
        this.recheck = undefined;
        this.updateCaps();
      }, REBALANCE_AFTER_MS).unref();
      return;
    }
    const shedAt = this.shedAt.get(worker) ?? -Infinity;
    if (now - since < REBALANCE_AFTER_MS || now - shedAt < SHED_HOLD_MS) return;
    this.shedAt.set(worker, now);
    worker.askedToShed();
    worker.post({ act: 'shed', key: this.key, count: excess, cap: mean, hold: SHED_HOLD_MS });
  }
}

/**
 * Each worker binds its own SO_REUSEPORT socket on the port the primary reserved (bound,
 * never listening, so the kernel sends it nothing).
 */
export class ReusePortListener extends SharedListener {
  override readonly transport: Transport = 'self';

  override handleForListen(): ListenHandle | undefined {
    return undefined;
  }

  protected override startAccepting(worker: WorkerProcess): void {
    worker.post({ act: 'accept', key: this.key });
  }
}
