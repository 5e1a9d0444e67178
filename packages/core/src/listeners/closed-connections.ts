import type { CloseReason, ClusterStats } from '../admin/cluster-stats.js';

/** At most one line per this many ms for each reason: a flood of closed connections is one line a second, with its count. */
const LINE_INTERVAL_MS = 1000;

/** Counts connections the primary closed for one reason, in the cluster's metrics and in a log line, rate-limited. */
class Tally {
  private count = 0;
  private lastLineAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly reason: CloseReason,
    private readonly why: string,
    private readonly log: (line: string) => void,
    private readonly stats: ClusterStats,
  ) {}

  add(count = 1): void {
    this.stats.closed(this.reason, count);
    this.count += count;
    if (this.timer !== undefined) return;
    const wait = this.lastLineAt + LINE_INTERVAL_MS - Date.now();
    if (wait <= 0) return this.flush();
    // Unref'ed: a held-back count must not keep the primary alive; flush() writes it at shutdown.
    this.timer = setTimeout(() => this.flush(), wait).unref();
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.count === 0) return;
    const count = this.count;
    this.count = 0;
    this.lastLineAt = Date.now();
    this.log(`clusterize: closed ${count} connection${count === 1 ? '' : 's'}: ${this.why}`);
  }
}

/**
 * Connections a forwarding listener accepted and had to close without any worker serving
 * them, by reason. One set per cluster, shared by its listeners, so each reason is at most
 * one line a second however many ports there are.
 */
export class ClosedConnections {
  /** Every routable worker refused it: each one's server is at maxConnections (and queueTimeout is 0). */
  readonly full: Tally;
  /** Every routable worker was sent it and none received the descriptor (NODE_HANDLE_NACK). */
  readonly lost: Tally;
  /** It arrived while the queue of connections waiting for a worker was full. */
  readonly overflow: Tally;
  /** It was queued when the last worker that could serve it left (shutdown, or the app closed its server). */
  readonly abandoned: Tally;
  /** The PROXY protocol is on and it began with something else, or a malformed header. */
  readonly badProxyHeader: Tally;
  /** The PROXY protocol is on and its header was not complete in time. */
  readonly slowProxyHeader: Tally;
  /** Every routable worker was full, and none had room within queueTimeout. */
  readonly queueTimeout: Tally;

  constructor(log: (line: string) => void, stats: ClusterStats, queueLimit: number, proxyHeaderTimeout: number, queueTimeout: number) {
    const tally = (reason: CloseReason, why: string) => new Tally(reason, why, log, stats);
    this.full = tally('full', 'every worker is at maxConnections');
    this.lost = tally('lost', 'no worker could receive the descriptor (a worker out of file descriptors gets NODE_HANDLE_NACK)');
    this.overflow = tally('overflow', `${queueLimit} connections were already waiting for a worker`);
    this.abandoned = tally('abandoned', 'no worker is left to serve the queue');
    this.badProxyHeader = tally('badProxyHeader', 'no valid PROXY protocol header');
    this.slowProxyHeader = tally('slowProxyHeader', `no complete PROXY protocol header within ${proxyHeaderTimeout} ms`);
    this.queueTimeout = tally('queueTimeout', `every worker is at maxConnections and none had room within ${queueTimeout} ms`);
  }

  /** Writes every count still held back by the rate limit. */
  flush(): void {
    for (const tally of [this.full, this.lost, this.overflow, this.abandoned, this.badProxyHeader, this.slowProxyHeader, this.queueTimeout]) tally.flush();
  }
}
