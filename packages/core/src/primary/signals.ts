import { constants } from 'node:os';
import type { Cluster } from './cluster.js';

/**
 * SIGINT and SIGTERM drain the cluster and exit 0; a second one kills the workers and
 * exits at once with 128 + the signal number, as a shell reports it. SIGHUP reloads.
 */
export function handleSignals(cluster: Cluster): () => void {
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received++;
    if (received === 1) {
      cluster.options.log(`clusterize: ${signal} received; draining workers (up to ${cluster.options.shutdownTimeout} ms; send it again to stop at once)`);
      void cluster.shutdown().then(() => cluster.runExitHooks()).then(() => process.exit(0));
      return;
    }
    cluster.options.log(`clusterize: ${signal} received again; killing workers`);
    cluster.kill();
    process.exit(128 + (constants.signals[signal] ?? 0));
  };
  const onHangup = () => {
    if (!cluster.running) return;
    const { maxSurge } = cluster.options;
    cluster.options.log(`clusterize: SIGHUP received; reloading workers ${maxSurge === 1 ? 'one by one' : `${maxSurge} at a time`}`);
    // A failed reload is logged by the cluster itself; one cancelled by a shutdown needs no line.
    cluster.reload().then(() => cluster.options.log('clusterize: reload complete'), () => {});
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onHangup);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onHangup);
  };
}
