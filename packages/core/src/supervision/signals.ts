import { constants } from 'node:os';
import type { Cluster } from '../primary/cluster.js';
import { AppSignalListeners } from './app-signal-listeners.js';
import { flushOutput } from './output-relay.js';

/**
 * The primary's exit status after a SIGTERM/SIGINT drain whose deadline cut connections or
 * killed a worker: a supervisor or CI job can tell a clean stop (0) from one that dropped
 * requests.
 */
export const EXIT_CUT_AT_DEADLINE = 3;

/**
 * SIGINT and SIGTERM (and `clusterize stop`, as SIGTERM) drain the cluster and exit 0 (EXIT_CUT_AT_DEADLINE when the deadline
 * cut something) once the workers' last output is written (see flushOutput); with
 * shutdownDelay, /readyz turns 503 at once and the cluster keeps serving that long before
 * the drain, for load balancers to notice. A second signal kills the workers and exits at
 * once with 128 + the signal number, as a shell reports it; once they are gone, it exits
 * with the drain's status. The reload signal (SIGHUP unless reloadSignal says otherwise)
 * reloads. Listeners the app's own code adds for these signals in the primary are set
 * aside (see AppSignalListeners): SIGINT's and SIGTERM's run after the drain.
 */
export function handleSignals(cluster: Cluster): () => void {
  let received = 0;
  /** The exit status, once the workers are gone. */
  let status: number | undefined;
  const exit = () => void flushOutput().then(() => process.exit(status));
  const drain = (signal: NodeJS.Signals) => {
    void cluster.shutdown(signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM').then(async (report) => {
      status = report.clean ? 0 : EXIT_CUT_AT_DEADLINE;
      await cluster.runExitHooks();
      if (!report.clean) cluster.options.log(`clusterize: the shutdown deadline cut ${report.cutConnections} connection${report.cutConnections === 1 ? '' : 's'} and killed ${report.killedWorkers} worker${report.killedWorkers === 1 ? '' : 's'}; exiting with status ${EXIT_CUT_AT_DEADLINE}`);
      await runAppListeners(signal);
      exit();
    });
  };
  /** The one way a stop begins, whoever asked for it (`why`, in the log). */
  const stop = (signal: 'SIGINT' | 'SIGTERM', why: string, now: string) => {
    const { shutdownDelay, shutdownTimeout, log } = cluster.options;
    const draining = `draining workers (up to ${shutdownTimeout} ms; ${now} to stop at once)`;
    if (shutdownDelay === 0) {
      log(`clusterize: ${why}; ${draining}`);
      return drain(signal);
    }
    cluster.withdraw();
    log(`clusterize: ${why}; /readyz answers 503, serving ${shutdownDelay} ms more (shutdown delay), then ${draining}`);
    setTimeout(() => {
      log('clusterize: shutdown delay over; draining workers');
      drain(signal);
    }, shutdownDelay);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    received++;
    if (received === 1) return stop(signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM', `${signal} received`, 'send it again');
    // Every worker is gone: nothing left to kill (the app's own listener may have raised it again).
    if (status !== undefined) return exit();
    cluster.options.log(`clusterize: ${signal} received again; killing workers`);
    cluster.kill();
    process.exit(128 + (constants.signals[signal] ?? 0));
  };
  const { reloadSignal } = cluster.options;
  const onReloadSignal = () => {
    // After SIGTERM (during a shutdown delay too) the cluster is on its way out.
    if (!cluster.running || received > 0) return;
    // A failed reload is logged by the cluster itself; one cancelled by a shutdown needs no line.
    cluster.reloadAsked(`${reloadSignal} received`).catch(() => {});
  };
  // A second `clusterize stop` waits for the same drain; a signal after it stops at once.
  cluster.handleStopRequests(() => {
    if (received > 0) return;
    received = 1;
    stop('SIGTERM', 'clusterize stop received', 'send SIGTERM');
  });
  const appListeners = new AppSignalListeners(['SIGINT', 'SIGTERM', reloadSignal], new Set([onSignal, onReloadSignal] as never[]), cluster.options.log, reloadSignal);
  /** The app's own listeners for the signal, once the workers are gone; what they return is waited for, up to shutdownTimeout. */
  const runAppListeners = async (signal: NodeJS.Signals) => {
    const runs = appListeners.call(signal).map((run) => run.catch((error: unknown) => {
      cluster.options.log(`clusterize: the app's ${signal} listener in the primary failed: ${(error as Error)?.stack ?? String(error)}`);
    }));
    if (runs.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(runs), new Promise((resolve) => { timer = setTimeout(resolve, cluster.options.shutdownTimeout); })]);
    clearTimeout(timer);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on(reloadSignal, onReloadSignal);
  appListeners.install();
  return () => {
    appListeners.uninstall();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off(reloadSignal, onReloadSignal);
  };
}
