import type net from 'node:net';
import { describe } from '../worker/guard.js';
import { drainServer } from './drain-server.js';

/**
 * How long after the shutdown timeout the process exits even if something still runs: the
 * work that started at the deadline (hooks after connections were cut) gets this much, and
 * the process is gone before the primary's own kill (shutdownTimeout + 1 s). A worker whose
 * primary was killed has nobody to kill it: this bound is all that keeps it from lingering.
 */
export const EXIT_GRACE_MS = 500;

/** What differs between the processes that drain and exit: a worker, and in-process mode. */
export interface DrainingProcess {
  /** Names the process in log lines: `worker 1 (pid 2)`. */
  who: string;
  log(line: string): void;
  /** Long-lived connections are closed for the app (it has no 'drain' listener): see drainServer. */
  politely: boolean;
  /** Told how many connections the deadline cut, when any was: a worker tells its primary. */
  cut(connections: number): void;
  /** Run once nothing is served any more, to release resources (framework close hooks). */
  hooks: readonly (() => unknown)[];
  /** Waited for before exiting, up to the deadline: a worker's last messages to its primary. */
  settled?(deadline: number): Promise<unknown>;
}

/**
 * Drains `servers`, which no longer accept (in-flight requests finish, up to `timeout` ms;
 * see drainServer), tells `cut` how many connections the deadline cut (when any was), runs
 * the hooks, waits for `settled`, and exits 0. A hook that fails is logged. If a hook never
 * settles, or the app's own work holds the process, it exits 1 at `timeout` + EXIT_GRACE_MS
 * with a line naming `who`.
 */
export async function exitAfterDrain(servers: readonly net.Server[], timeout: number, role: DrainingProcess): Promise<void> {
  const { who, log } = role;
  const deadline = Date.now() + timeout;
  setTimeout(() => {
    log(`clusterize: ${who} was still busy ${timeout + EXIT_GRACE_MS} ms after it began draining (a close hook that did not settle?); exiting`);
    process.exit(1);
  }, timeout + EXIT_GRACE_MS);
  const drained = await Promise.allSettled(servers.map((server) => drainServer(server, deadline, role.politely)));
  const connections = drained.reduce((sum, result) => sum + (result.status === 'fulfilled' ? result.value : 0), 0);
  if (connections > 0) role.cut(connections);
  // Close hooks release resources once nothing is being served any more.
  const results = await Promise.allSettled(role.hooks.map(async (hook) => hook()));
  for (const result of results) {
    if (result.status === 'rejected') log(`clusterize: ${who}: a close hook failed: ${describe(result.reason)}`);
  }
  await role.settled?.(deadline);
  process.exit(0);
}
