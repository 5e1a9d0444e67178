import { clusterizeError } from '../errors.js';
import { promClientFor } from '../admin/prom-client.js';
import { MAX_METRICS_JSON } from '../protocol.js';
import { reportRuntimeError } from './guard.js';

/** Beyond the primary's own metricsTimeout, for the answer to travel back. */
const ANSWER_GRACE_MS = 1_000;

/**
 * The app's prom-client default registry as prom-client's JSON, for the primary to
 * aggregate; null when the app has no prom-client (or a registry too large to send).
 */
export async function registryJson(): Promise<string | null> {
  const client = promClientFor(process.argv[1] ?? '');
  if (client === undefined) return null;
  try {
    const json = JSON.stringify(await client.register.getMetricsAsJSON());
    if (json.length <= MAX_METRICS_JSON) return json;
    reportRuntimeError('collecting metrics', new Error(`the prom-client registry is ${json.length} bytes as JSON, above the ${MAX_METRICS_JSON} clusterize sends`));
  } catch (error) {
    reportRuntimeError('collecting metrics', error);
  }
  return null;
}

interface Pending {
  resolve(text: string): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** clusterMetrics() calls waiting for the primary to collect and aggregate the cluster's metrics. */
export class ClusterMetricsRequests {
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly timeout: number;

  /** `metricsTimeout`: how long the primary waits for each worker's metrics. */
  constructor(private readonly ask: (seq: number) => void, metricsTimeout: number) {
    this.timeout = metricsTimeout + ANSWER_GRACE_MS;
  }

  request(): Promise<string> {
    if (!process.connected) {
      return Promise.reject(clusterizeError('ERR_CLUSTERIZE_METRICS_UNAVAILABLE', 'clusterMetrics(): this worker has lost its primary'));
    }
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(clusterizeError('ERR_CLUSTERIZE_METRICS_UNAVAILABLE', `clusterMetrics(): the primary did not answer within ${this.timeout} ms`));
      }, this.timeout);
      this.pending.set(seq, { resolve, reject, timer });
      this.ask(seq);
    });
  }

  answered(seq: number, text: string): void {
    const pending = this.pending.get(seq);
    if (pending === undefined) return;
    this.pending.delete(seq);
    clearTimeout(pending.timer);
    pending.resolve(text);
  }
}
