import { join } from 'node:path';
import { promClientFor } from './prom-client.js';
import { currentWorker } from '../worker/start.js';

export { METRICS_CONTENT_TYPE } from './prom-client.js';

/**
 * The metrics to serve on an app's own /metrics route, in the Prometheus text format
 * (content type METRICS_CONTENT_TYPE).
 *
 * In a worker: the whole cluster's, as the admin server's /metrics serves them, aggregated
 * by the primary; a per-worker registry would answer from whichever worker the scrape
 * reaches. Elsewhere (in-process, a plain process): this process's own prom-client
 * registry, or nothing when the app has no prom-client.
 */
export async function clusterMetrics(): Promise<string> {
  const worker = currentWorker();
  if (worker !== undefined) return worker.clusterMetrics();
  const client = promClientFor(process.argv[1] ?? join(process.cwd(), 'index.js'));
  return client === undefined ? '' : client.register.metrics();
}
