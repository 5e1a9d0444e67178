import { constants } from 'node:os';
import type { Cluster } from '../primary/cluster.js';
import { flushOutput } from './output-relay.js';

/**
 * The primary's exit status after a SIGTERM/SIGINT drain whose deadline cut connections or
 * killed a worker: a supervisor or CI job can tell a clean stop (0) from one that dropped
 * requests.
 */
export const EXIT_CUT_AT_DEADLINE = 3;

/**
 * SIGINT and SIGTERM drain the cluster and exit 0 (EXIT_CUT_AT_DEADLINE when the deadline
 * cut something) once the workers' last output is written (see flushOutput); with
 * shutdownDelay, /readyz turns 503 at once and the cluster keeps serving that long before
 * the drain, for load balancers to notice. A second signal kills
 * the workers and exits at once with 128 + the signal number, as a shell reports it.
 * The reload signal (SIGHUP unless reloadSignal says otherwise) reloads.
 */
export function handleSignals(cluster: Cluster): () => void {
  let received = 0;
  const drain = () => {
    void cluster.shutdown().then(async (report) => {
      await cluster.runExitHooks();
      if (!report.clean) cluster.options.log(`clusterize: the shutdown deadline cut ${report.cutConnections} connection${report.cutConnections === 1 ? '' : 's'} and killed ${report.killedWorkers} worker${report.killedWorkers === 1 ? '' : 's'}; exiting with status ${EXIT_CUT_AT_DEADLINE}`);
      await flushOutput();
      process.exit(report.clean ? 0 : EXIT_CUT_AT_DEADLINE);
    });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    received++;
    if (received === 1) {
      const { shutdownDelay, shutdownTimeout, log } = cluster.options;
      const draining = `draining workers (up to ${shutdownTimeout} ms; send it again to stop at once)`;
      if (shutdownDelay === 0) {
        log(`clusterize: ${signal} received; ${draining}`);
        return drain();
      }
      cluster.withdraw();
      log(`clusterize: ${signal} received; /readyz answers 503, serving ${shutdownDelay} ms more (shutdown delay), then ${draining}`);
      setTimeout(() => {
        log('clusterize: shutdown delay over; draining workers');
        drain();
      }, shutdownDelay);
      return;
    }
    cluster.options.log(`clusterize: ${signal} received again; killing workers`);
    cluster.kill();
    process.exit(128 + (constants.signals[signal] ?? 0));
  };
  const { reloadSignal } = cluster.options;
  const onReloadSignal = () => {
    // After SIGTERM (during a shutdown delay too) the cluster is on its way out.
    if (!cluster.running || received > 0) return;
    const { maxSurge } = cluster.options;
    cluster.options.log(`clusterize: ${reloadSignal} received; reloading workers ${maxSurge === 1 ? 'one by one' : `${maxSurge} at a time`}`);
    // A failed reload is logged by the cluster itself; one cancelled by a shutdown needs no line.
    cluster.reload().then(() => cluster.options.log('clusterize: reload complete'), () => {});
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on(reloadSignal, onReloadSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off(reloadSignal, onReloadSignal);
  };
}
