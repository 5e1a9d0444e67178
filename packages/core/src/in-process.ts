import { constants } from 'node:os';
import type net from 'node:net';
import { exitAfterDrain } from './drain/exit-after-drain.js';
import { AppSignalListeners } from './supervision/app-signal-listeners.js';

export interface InProcessSettings {
  shutdownTimeout: number;
  signals: boolean;
  log(line: string): void;
}

/** What a signal drains: a server clusterize serves in this process, or a close hook that drains its own (fastify.close()). */
export interface InProcessDrain {
  server?: net.Server;
  hook?: () => unknown;
}

/** What SIGTERM drains in this process, with the longest shutdownTimeout asked for. */
const servers = new Set<net.Server>();
const hooks: (() => unknown)[] = [];
let listening = false;
let timeout = 0;
let log: (line: string) => void = () => {};
let received = 0;
let appShutdown: PromiseWithResolvers<void> | undefined;
const appSignals = new AppSignalListeners(['SIGINT', 'SIGTERM'], new Set([onSignal] as never[]), (line) => log(line));

/**
 * In-process mode (`workers: 0`) answers SIGTERM and SIGINT with a worker's drain (see
 * drain/): the servers stop accepting (Node also closes the keep-alive connections idle
 * right now) and drain, up to shutdownTimeout, then the hooks run and the process exits 0;
 * when the app listens for the signal too, its listeners run then, and the process ends
 * when the app's own shutdown does (see exitAfterDrain).
 * What the deadline cut is logged; a second signal exits at once with 128 + the signal
 * number. Nothing is registered with `signals: false`. One pair of process listeners
 * serves every server of the process.
 */
export function drainOnSignals(settings: InProcessSettings, { server, hook }: InProcessDrain): void {
  if (!settings.signals) return;
  if (!listening) {
    listening = true;
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    appSignals.install();
  }
  if (server !== undefined) servers.add(server);
  if (hook !== undefined) hooks.push(hook);
  timeout = Math.max(timeout, settings.shutdownTimeout);
  log = settings.log;
}

function onSignal(signal: NodeJS.Signals): void {
  received++;
  if (received > 1) {
    // Raised again by the app once its own shutdown ran (NestJS), or a second Ctrl-C while it runs: done.
    if (appShutdown !== undefined) return appShutdown.resolve();
    log(`clusterize: ${signal} received again; exiting`);
    process.exit(128 + (constants.signals[signal] ?? 0));
  }
  log(`clusterize: ${signal} received; draining (up to ${timeout} ms; send it again to stop at once)`);
  for (const server of servers) server.close();
  // The app's own listeners for the signal run once its requests are done (see AppSignalListeners).
  const appListens = appSignals.has(signal);
  void exitAfterDrain([...servers], timeout, {
    who: `pid ${process.pid} (in-process)`,
    log,
    // No worker runtime emits 'drain' here for an app to take over: long-lived connections are cut at the deadline.
    politely: false,
    cut: (connections) => log(`clusterize: cut ${connections} open connection${connections === 1 ? '' : 's'} at the shutdown deadline (shutdownTimeout ${timeout} ms)`),
    hooks,
    appShutdown: !appListens ? undefined : () => {
      appShutdown = Promise.withResolvers<void>();
      appSignals.call(signal);
      return appShutdown.promise;
    },
  });
}
