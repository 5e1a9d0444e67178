// How a pool's requests and connections fell over the workers, from the headers of each
// response (bench/apps/serve.ts): the pid that served it and the connection it came on.
import { balance } from '../stats.ts';

export interface Split {
  /** Requests by worker pid. */
  requests: Record<string, number>;
  /** Distinct connections by worker pid; behind a proxy, its upstream connections. */
  connections: Record<string, number>;
}

/** max/min of each count over `workers` workers; Infinity when one got nothing. */
export interface Ratios {
  requests: number;
  connections: number;
}

export class SplitCounter {
  readonly split: Split = { requests: {}, connections: {} };
  private readonly seen = new Set<string>();

  /** Counts one response; pass it as autocannon's onResponse (see bench/load.ts). */
  readonly add = (pid: string, socketId: string): void => {
    const { requests, connections } = this.split;
    requests[pid] = (requests[pid] ?? 0) + 1;
    if (this.seen.has(socketId)) return;
    this.seen.add(socketId);
    connections[pid] = (connections[pid] ?? 0) + 1;
  };

  ratios(workers: number): Ratios {
    return { requests: balance(this.split.requests, workers), connections: balance(this.split.connections, workers) };
  }
}
