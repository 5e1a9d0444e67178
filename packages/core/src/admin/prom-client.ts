import { createRequire } from 'node:module';

/** The part of prom-client (>= 13) clusterize uses. */
interface PromClient {
  register: {
    getMetricsAsJSON(): Promise<unknown[]>;
    metrics(): Promise<string>;
  };
  AggregatorRegistry: {
    aggregate(metrics: unknown[][]): { metrics(): Promise<string> };
  };
}

/** What prom-client sends as the content type of its text exposition. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const loaded = new Map<string, PromClient | undefined>();

/**
 * The prom-client the app at `script` uses, or undefined when it cannot load one.
 *
 * prom-client is an optional peer dependency, so it is never imported statically. It is
 * resolved from the app's script, not from clusterize's own folder: the app's metrics live
 * in the default registry of the copy the app loaded, and another copy would be empty.
 */
export function promClientFor(script: string): PromClient | undefined {
  if (loaded.has(script)) return loaded.get(script);
  let client: PromClient | undefined;
  try {
    const candidate = createRequire(script)('prom-client') as Partial<PromClient>;
    if (typeof candidate.register?.getMetricsAsJSON === 'function' && typeof candidate.AggregatorRegistry?.aggregate === 'function') {
      client = candidate as PromClient;
    }
  } catch {
    // Not installed for this app: metrics without it are clusterize's own.
  }
  loaded.set(script, client);
  return client;
}
