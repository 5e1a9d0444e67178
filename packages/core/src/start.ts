import { resolveOptions, type ClusterOptions } from './options.js';
import { Cluster } from './primary/cluster.js';
import { handleSignals } from './primary/signals.js';

/**
 * Creates a cluster without starting it: validates the options (coded errors) and, unless
 * `signals: false`, drains on SIGINT/SIGTERM.
 */
export function createCluster(options: ClusterOptions = {}): Cluster {
  const cluster = new Cluster(resolveOptions(options));
  if (cluster.options.signals) handleSignals(cluster);
  return cluster;
}

/** Creates and starts a cluster; resolves with it once every worker is ready. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const cluster = createCluster(options);
  await cluster.start();
  return cluster;
}
