import { bindHandle, setPipeMode, sockname, UV_TCP_REUSEPORT, type ListenHandle } from '../node-internals.js';
import type { Acks, ListenQuery, Sockname } from '../protocol.js';
import { ClosedConnections } from './closed-connections.js';
import type { ClusterStats } from '../admin/cluster-stats.js';
import { ForwardingListener, MAX_QUEUED } from './forwarding-listener.js';
import { PROXY_HEADER_TIMEOUT_MS } from '../proxy-protocol/proxy-header-reader.js';
import type { Listener } from './listener.js';
import type { ResolvedOptions } from '../options.js';
import type { Policy } from './policies/index.js';
import { roundRobin } from './policies/round-robin.js';
import { ReusePortListener, SharedListener } from './shared-listener.js';
import type { WorkerProcess } from '../supervision/worker-process.js';

type Acquired = { errno: 0; listener: Listener } | { errno: number; listener?: undefined };

// libuv's pipe modes for fchmod (uv.h UV_READABLE / UV_WRITABLE).
const UV_READABLE = 1;
const UV_WRITABLE = 2;

/** Same address, port, family and fd: the same listener, bound once (Node's cluster key). */
function identity(query: ListenQuery): string {
  const base = `${query.address}:${query.port}:${query.addressType}:${query.fd ?? ''}`;
  return query.port === 0 ? `${base}:${query.index}` : base;
}

/** Binds each requested port once in the primary and keeps who uses it. */
export class ListenerRegistry {
  /** By the short key that travels in every message about the listener. */
  private readonly listeners = new Map<string, Listener>();
  private readonly byIdentity = new Map<string, Listener>();
  /** Closed listeners with hand-offs not yet acknowledged. */
  private readonly closed = new Set<Listener>();
  private nextKey = 0;
  private readonly closedConnections: ClosedConnections;

  constructor(
    private readonly policy: Policy,
    /** proxyProtocol: every connection starts with a PROXY protocol header (forwarding policies only). */
    private readonly options: Pick<ResolvedOptions, 'proxyProtocol' | 'queueTimeout'>,
    private readonly stats: ClusterStats,
    log: (line: string) => void,
  ) {
    this.closedConnections = new ClosedConnections(log, stats, MAX_QUEUED, PROXY_HEADER_TIMEOUT_MS, options.queueTimeout);
  }

  get(key: string): Listener | undefined {
    return this.listeners.get(key);
  }

  all(): IterableIterator<Listener> {
    return this.listeners.values();
  }

  acquire(worker: WorkerProcess, query: ListenQuery): Acquired {
    const id = identity(query);
    let listener = this.byIdentity.get(id);
    if (listener === undefined) {
      const created = this.create(String(++this.nextKey), query);
      if (typeof created === 'number') return { errno: created };
      listener = created;
      this.listeners.set(listener.key, listener);
      this.byIdentity.set(id, listener);
    }
    const key = listener.key;
    listener.registered.add(worker);
    worker.registeredOn(key);
    return { errno: 0, listener };
  }

  /** The worker's server closed: unregister it, and close the port when nobody uses it. */
  release(worker: WorkerProcess, key: string): void {
    const listener = this.listeners.get(key);
    worker.unregisteredFrom(key);
    if (listener === undefined || !listener.registered.delete(worker)) return;
    listener.unroute(worker);
    if (listener.registered.size === 0) {
      this.listeners.delete(key);
      this.byIdentity.delete(identity(listener.query));
      listener.close();
      // Hand-offs still in flight are settled when the worker acknowledges them.
      if (!listener.settled) this.closed.add(listener);
    }
  }

  /** The worker took or turned away hand-offs (ids are unique across listeners). */
  acknowledge(worker: WorkerProcess, acks: Acks): void {
    for (const listener of this.withHandoffs()) listener.acknowledge(worker, acks);
  }

  /** The worker reported its open connections: listeners that balance on them hear of it. */
  loadChanged(worker: WorkerProcess): void {
    for (const key of worker.keys) this.listeners.get(key)?.loadChanged();
  }

  /** The worker exited: it is no one's target, but the ports stay for its replacement. */
  forget(worker: WorkerProcess): void {
    for (const listener of this.withHandoffs()) listener.forget(worker);
    worker.unregisteredEverywhere();
  }

  private *withHandoffs(): Generator<Listener> {
    yield* this.listeners.values();
    for (const listener of this.closed) {
      yield listener;
      if (listener.settled) this.closed.delete(listener);
    }
  }

  closeAll(): void {
    for (const listener of this.listeners.values()) listener.close();
    this.listeners.clear();
    this.byIdentity.clear();
    // The primary may exit next: counts the rate limit held back are written now.
    this.closedConnections.flush();
  }

  private create(key: string, query: ListenQuery): Listener | number {
    const selfBound = this.policy.transport === 'self' && query.port >= 0;
    const handle = bindHandle(query, (query.flags ?? 0) | (selfBound ? UV_TCP_REUSEPORT : 0));
    if (typeof handle === 'number') return handle;
    const errno = chmodPipe(handle, query);
    if (errno !== 0) {
      handle.close();
      return errno;
    }
    // libuv defers a bind's EADDRINUSE to the next listen() or getsockname() (delayed_error).
    const out: Record<string, unknown> = {};
    const delayed = handle.getsockname?.(out) ?? 0;
    if (delayed !== 0) {
      handle.close();
      return delayed;
    }
    const name = (sockname(handle) ?? null) as Sockname | null;
    const listener = this.build(key, query, handle, name, selfBound);
    const started = listener.start();
    if (started !== 0) {
      handle.close();
      return started;
    }
    return listener;
  }

  private build(key: string, query: ListenQuery, handle: ListenHandle, name: Sockname | null, selfBound: boolean): Listener {
    if (selfBound) return new ReusePortListener(key, query, handle, name, this.closedConnections, this.stats);
    if (this.policy.transport === 'shared') return new SharedListener(key, query, handle, name, this.closedConnections, this.stats);
    // A pipe under a self-binding policy is forwarded: SO_REUSEPORT is for TCP only.
    const balancer = (this.policy.createBalancer ?? roundRobin.createBalancer!)();
    return new ForwardingListener(key, query, handle, name, balancer, {
      byClientAddress: this.policy.byClientAddress === true,
      proxyProtocol: this.options.proxyProtocol,
      queueTimeout: this.options.queueTimeout,
    }, this.closedConnections, this.stats);
  }
}

function chmodPipe(handle: ListenHandle, query: ListenQuery): number {
  const mode = (query.readableAll === true ? UV_READABLE : 0) | (query.writableAll === true ? UV_WRITABLE : 0);
  if (mode === 0) return 0;
  return setPipeMode(handle, mode);
}
