import type { ResolvedOptions } from '../options.js';
import { promClientFor } from './prom-client.js';
import type { ClusterStats } from './cluster-stats.js';
import { renderClusterMetrics } from './metrics.js';
import { RetiredMetrics } from './retired-metrics.js';
import type { WorkerProcess } from '../supervision/worker-process.js';

/** A worker's answer: its registry as prom-client's JSON, or null (no prom-client, gone, unreadable). */
type Answer = unknown[] | null;
const MISSING = Symbol('missing');

interface Ask {
  worker: WorkerProcess;
  settle(answer: Answer | typeof MISSING): void;
}

/**
 * Gathers the cluster's metrics for a scrape or a worker's clusterMetrics(): asks every
 * worker whose runtime runs for its prom-client registry over the IPC channel, aggregates
 * the answers with prom-client's own AggregatorRegistry.aggregate (counters and histograms
 * summed, gauges per their `aggregator`), and appends clusterize's own metrics.
 *
 * A worker that has not answered within metricsTimeout (a blocked event loop, SIGSTOP) is
 * left out and counted in clusterize_metrics_missing_workers: a scrape never fails and
 * never waits longer than that. Requests that arrive while a collection runs share it.
 *
 * Counters, histograms and summaries go on including what exited workers had counted (see
 * RetiredMetrics), so a reload or a crash does not look like a counter reset. A worker that
 * drains sends its final reading as it exits; one that crashes or is killed loses what it
 * counted after the last scrape that reached it, at most a scrape interval's worth.
 */
export class MetricsCollector {
  private seq = 0;
  private readonly asks = new Map<number, Ask>();
  private running: Promise<string> | undefined;
  private toldNoPromClient = false;
  private readonly retired = new RetiredMetrics();

  constructor(
    private readonly options: ResolvedOptions,
    private readonly workers: () => Iterable<WorkerProcess>,
    private readonly stats: ClusterStats,
  ) {}

  /** Prometheus text: every worker's prom-client metrics aggregated, then clusterize's own. */
  text(): Promise<string> {
    this.running ??= this.collect().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Worker `worker` answered request `seq`. */
  answered(worker: WorkerProcess, seq: number, json: string | null): void {
    const ask = this.asks.get(seq);
    if (ask?.worker !== worker) return;
    const answer = parse(json);
    if (answer !== null) this.retired.read(worker, answer);
    ask.settle(answer);
  }

  /** The worker's last reading, sent as it exits after a drain. */
  final(worker: WorkerProcess, json: string): void {
    const answer = parse(json);
    if (answer !== null) this.retired.read(worker, answer);
  }

  /** The worker exited: it will not answer, and it is not missing either; what it counted stays. */
  forget(worker: WorkerProcess): void {
    for (const ask of this.asks.values()) if (ask.worker === worker) ask.settle(null);
    this.retired.retire(worker);
  }

  private async collect(): Promise<string> {
    const client = promClientFor(this.options.script);
    let missing = 0;
    let text = '';
    if (client === undefined) {
      this.sayOnce(`clusterize: prom-client cannot be loaded from ${this.options.script}; metrics are clusterize's own only`);
    } else {
      const asked = [...this.workers()].filter((worker) => worker.state !== 'starting' && worker.alive);
      const answers = await Promise.all(asked.map((worker) => this.ask(worker)));
      missing = answers.filter((answer) => answer === MISSING).length;
      // A worker that exited after it answered counts in the retired totals, not twice.
      const live = answers.filter((answer, i): answer is unknown[] => Array.isArray(answer) && !this.retired.isRetired(asked[i]!));
      try {
        text = await client.AggregatorRegistry.aggregate([...live, this.retired.registry(live)]).metrics();
      } catch (error) {
        this.options.log(`clusterize: could not aggregate the workers' metrics: ${(error as Error)?.message ?? String(error)}`);
      }
    }
    const own = renderClusterMetrics([...this.workers()], this.stats, missing);
    return text.trim() === '' ? own : `${text.trimEnd()}\n\n${own}`;
  }

  private ask(worker: WorkerProcess): Promise<Answer | typeof MISSING> {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(MISSING), this.options.metricsTimeout);
      const settle = (answer: Answer | typeof MISSING) => {
        if (!this.asks.delete(seq)) return;
        clearTimeout(timer);
        resolve(answer);
      };
      this.asks.set(seq, { worker, settle });
      if (!worker.post({ act: 'collectMetrics', seq })) settle(null);
    });
  }

  private sayOnce(line: string): void {
    if (this.toldNoPromClient) return;
    this.toldNoPromClient = true;
    this.options.log(line);
  }
}

function parse(json: string | null): Answer {
  if (json === null) return null;
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}
