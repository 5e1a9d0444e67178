import { clusterizeError } from './errors.js';
import { assertInternals } from './node-internals-check.js';
import { resolveOptions, type ClusterOptions, type ResolveSettings } from './options.js';
import { Cluster } from './primary/cluster.js';
import { handleSignals } from './supervision/signals.js';
import { checkScript } from './script.js';
import { currentWorker } from './worker/start.js';

/**
 * Creates a cluster without starting it: validates the options and the script (coded
 * errors) and, unless `signals: false`, drains on SIGINT/SIGTERM.
 */
export function createCluster(options: ClusterOptions = {}): Cluster {
  return buildCluster(options, {}, 'createCluster()');
}

/** Creates and starts a cluster; resolves with it once every worker is ready. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const cluster = buildCluster(options, {}, 'startCluster()');
  await cluster.start();
  return cluster;
}

/** createCluster with resolve settings (the CLI's --workers beats CLUSTERIZE_WORKERS); `caller` names it in errors. */
export function buildCluster(options: ClusterOptions, settings: ResolveSettings, caller = 'clusterize'): Cluster {
  // A script that starts a cluster without checking its role would, in each worker, start
  // a cluster of its own: processes multiply until the machine runs out.
  if (currentWorker() !== undefined) {
    throw clusterizeError('ERR_CLUSTERIZE_IN_WORKER', `${caller} was called in a worker; guard it with \`if (!currentWorker())\`, or give the workers a script of their own (the \`script\` option)`);
  }
  assertInternals('primary');
  const resolved = resolveOptions(options, settings);
  const cluster = new Cluster({ ...resolved, script: checkScript(resolved.script) });
  if (cluster.options.signals) handleSignals(cluster);
  return cluster;
}
