import type { WorkerState } from '../supervision/worker-process.js';

/** Why a worker was replaced without being asked: it crashed, hung, or outgrew maxMemory / maxAge. */
type RestartReason = 'crash' | 'hung' | 'memory' | 'age';
/** How a reload() (or SIGHUP) ended: every worker replaced, a new worker failed, or a shutdown came first. */
export type ReloadResult = 'success' | 'failure' | 'cancelled';

/** Why the primary closed a connection it accepted without any worker serving it (see ClosedConnections). */
export type CloseReason = 'full' | 'lost' | 'overflow' | 'abandoned' | 'badProxyHeader' | 'slowProxyHeader' | 'queueTimeout';

const restartReasons: readonly RestartReason[] = ['crash', 'hung', 'memory', 'age'];
const reloadResults: readonly ReloadResult[] = ['success', 'failure', 'cancelled'];
const closeReasons: readonly CloseReason[] = ['full', 'lost', 'overflow', 'abandoned', 'badProxyHeader', 'slowProxyHeader', 'queueTimeout'];
export const workerStates: readonly Exclude<WorkerState, 'exited'>[] = ['starting', 'online', 'listening', 'ready', 'draining'];

/** Counters of what happened to the cluster since it started, for its metrics. */
export class ClusterStats {
  readonly restarts = new Map<RestartReason, number>(restartReasons.map((reason) => [reason, 0]));
  readonly reloads = new Map<ReloadResult, number>(reloadResults.map((result) => [result, 0]));
  readonly closedConnections = new Map<CloseReason, number>(closeReasons.map((reason) => [reason, 0]));
  /** Connections that waited in the primary for a worker with room (every routable one was at maxConnections). */
  queuedConnections = 0;

  restarted(reason: RestartReason): void {
    this.restarts.set(reason, this.restarts.get(reason)! + 1);
  }

  reloaded(result: ReloadResult): void {
    this.reloads.set(result, this.reloads.get(result)! + 1);
  }

  queued(): void {
    this.queuedConnections++;
  }

  closed(reason: CloseReason, count: number): void {
    this.closedConnections.set(reason, this.closedConnections.get(reason)! + count);
  }
}
