import type net from 'node:net';
import { drainServer } from './connections.js';
import { describe, logLine } from '../worker/guard.js';

/**
 * How long after the shutdown timeout the process exits even if something still runs: the
 * work that started at the deadline (hooks after connections were cut) gets this much, and
 * the process is gone before the primary's own kill (shutdownTimeout + 1 s). A worker whose
 * primary was killed has nobody to kill it: this bound is all that keeps it from lingering.
 */
export const EXIT_GRACE_MS = 500;

/**
 * Drains `servers` (in-flight requests finish, up to `timeout` ms; `politely`: long-lived
 * connections are closed for the app, see drainServer), tells `cut` how many
 * connections the deadline cut (when any was), runs the `hooks`, waits for `settled` (the
 * last word to the primary and every message still on its way there, up to the
 * deadline), and exits 0. If a hook
 * never settles, or a drain listener's work holds the process, it exits 1 at `timeout` +
 * EXIT_GRACE_MS with a line naming `who`.
 */
export async function exitAfterDrain(
  who: string, servers: readonly net.Server[], hooks: readonly (() => unknown)[], timeout: number, cut: (connections: number) => void,
  politely: boolean, settled: (deadline: number) => Promise<unknown>,
): Promise<void> {
  const deadline = Date.now() + timeout;
  setTimeout(() => {
    logLine(`clusterize: ${who} was still busy ${timeout + EXIT_GRACE_MS} ms after it began draining (a beforeExit hook that did not settle?); exiting`);
    process.exit(1);
  }, timeout + EXIT_GRACE_MS);
  const drained = await Promise.allSettled(servers.map((server) => drainServer(server, deadline, politely)));
  const connections = drained.reduce((sum, result) => sum + (result.status === 'fulfilled' ? result.value : 0), 0);
  if (connections > 0) cut(connections);
  // Close hooks release resources once nothing is being served any more.
  const results = await Promise.allSettled(hooks.map(async (hook) => hook()));
  for (const result of results) {
    if (result.status === 'rejected') logLine(`clusterize: ${who}: a beforeExit hook failed: ${describe(result.reason)}`);
  }
  await settled(deadline);
  process.exit(0);
}
