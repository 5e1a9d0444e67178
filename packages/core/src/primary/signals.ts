import { constants } from 'node:os';
import type { Cluster } from './cluster.js';

/**
 * The primary's exit status after a SIGTERM/SIGINT drain whose deadline cut connections or
 * killed a worker: a supervisor or CI job can tell a clean stop (0) from one that dropped
 * requests.
 */
export const EXIT_CUT_AT_DEADLINE = 3;

/**
 * SIGINT and SIGTERM drain the cluster and exit 0 (EXIT_CUT_AT_DEADLINE when the deadline
 * cut something); a second one kills the workers and exits at once with 128 + the signal
 * number, as a shell reports it. SIGHUP reloads.
 */
export function handleSignals(cluster: Cluster): () => void {
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received++;
    if (received === 1) {
      cluster.options.log(`clusterize: ${signal} received; draining workers (up to ${cluster.options.shutdownTimeout} ms; send it again to stop at once)`);
      void cluster.shutdown().then(async (report) => {
        await cluster.runExitHooks();
        if (report.clean) process.exit(0);
        cluster.options.log(`clusterize: the shutdown deadline cut ${report.cutConnections} connection${report.cutConnections === 1 ? '' : 's'} and killed ${report.killedWorkers} worker${report.killedWorkers === 1 ? '' : 's'}; exiting with status ${EXIT_CUT_AT_DEADLINE}`);
        process.exit(EXIT_CUT_AT_DEADLINE);
      });
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
