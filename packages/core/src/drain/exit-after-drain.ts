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
  /**
   * The app has a shutdown of its own (it listens for the signal): called once nothing is
   * served any more, it calls the app's listeners and resolves when the app says it is done
   * without exiting (NestJS raises the signal again once its hooks have run).
   */
  appShutdown?: () => Promise<void>;
}

/**
 * Drains `servers`, which no longer accept (in-flight requests finish, up to `timeout` ms;
 * see drainServer), tells `cut` how many connections the deadline cut (when any was),
 * waits for `settled`, then runs the app's own shutdown (`appShutdown`) and the hooks.
 * Without an app shutdown it then exits 0.
 *
 * With one, the process ends as plain `node` ends after SIGTERM: when its event loop
 * empties (the servers, drained, no longer hold it; the app may still close them), when the
 * app calls process.exit, or when the app says it is done. Its listeners run once the
 * requests are done, so a hook that flushes what they recorded (spans, logs) has all of it,
 * and one that exits cuts nothing. The drain never cuts an app's hook short before the
 * deadline.
 *
 * Whatever still runs at `timeout` + EXIT_GRACE_MS (a hook that never settles, a timer or
 * a pool the app left open) ends there: exit 1, with a line naming `who` and what held it.
 */
export async function exitAfterDrain(servers: readonly net.Server[], timeout: number, role: DrainingProcess): Promise<void> {
  const { who, log, appShutdown } = role;
  const deadline = Date.now() + timeout;
  const last = setTimeout(() => {
    log(`clusterize: ${who} was still busy ${timeout + EXIT_GRACE_MS} ms after it began draining (${busyWith(appShutdown !== undefined)}); exiting`);
    process.exit(1);
  }, timeout + EXIT_GRACE_MS);
  // Waiting for the app's own shutdown, this timer must not be what keeps the process alive.
  if (appShutdown !== undefined) last.unref();
  const drained = await Promise.allSettled(servers.map((server) => drainServer(server, deadline, role.politely, { close: appShutdown === undefined })));
  const connections = drained.reduce((sum, result) => sum + (result.status === 'fulfilled' ? result.value : 0), 0);
  if (connections > 0) role.cut(connections);
  await role.settled?.(deadline);
  const appDone = appShutdown?.();
  // Close hooks release resources once nothing is being served any more.
  const results = await Promise.allSettled(role.hooks.map(async (hook) => hook()));
  for (const result of results) {
    if (result.status === 'rejected') log(`clusterize: ${who}: a close hook failed: ${describe(result.reason)}`);
  }
  if (appDone === undefined) process.exit(0);
  // The app's shutdown ends the process (above); the drain holds nothing open from here on.
  await appDone;
  process.exit();
}

/** What may still hold the process: Node's names for its active handles and requests. */
function busyWith(appShutdown: boolean): string {
  const active = process.getActiveResourcesInfo().filter((name) => name !== 'TTYWrap');
  const counts = new Map<string, number>();
  for (const name of active) counts.set(name, (counts.get(name) ?? 0) + 1);
  const list = [...counts].map(([name, count]) => (count > 1 ? `${name} x${count}` : name)).join(', ');
  const what = appShutdown ? 'the app\'s shutdown had not ended: a SIGTERM handler that did not finish, or a timer, socket or pool it left open' : 'a close hook that did not settle?';
  return list === '' ? what : `${what}; active: ${list}`;
}
