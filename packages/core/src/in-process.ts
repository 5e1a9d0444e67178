import { constants } from 'node:os';
import type net from 'node:net';
import { exitAfterDrain } from './drain/exit-after-drain.js';

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

/**
 * In-process mode (`workers: 0`) answers SIGTERM and SIGINT with a worker's drain (see
 * drain/): the servers stop accepting (Node also closes the keep-alive connections idle
 * right now) and drain, up to shutdownTimeout, then the hooks run and the process exits 0;
 * or, when the app listens for the signal too, once the app's own shutdown is done (see
 * exitAfterDrain).
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
  }
  if (server !== undefined) servers.add(server);
  if (hook !== undefined) hooks.push(hook);
  timeout = Math.max(timeout, settings.shutdownTimeout);
  log = settings.log;
}

function onSignal(signal: NodeJS.Signals): void {
  received++;
  // The app's own listeners for the signal (NestJS, terminus, close-with-grace) run beside
  // the drain, as they would without clusterize, and it says when the process is done.
  const appListens = process.listenerCount(signal) > 1;
  if (received > 1) {
    // Raised again by the app once its shutdown took its listeners away (NestJS): it is done.
    if (appShutdown !== undefined && !appListens) return appShutdown.resolve();
    log(`clusterize: ${signal} received again; exiting`);
    process.exit(128 + (constants.signals[signal] ?? 0));
  }
  if (appListens) appShutdown = Promise.withResolvers<void>();
  log(`clusterize: ${signal} received; draining (up to ${timeout} ms; send it again to stop at once)`);
  for (const server of servers) server.close();
  void exitAfterDrain([...servers], timeout, {
    who: `pid ${process.pid} (in-process)`,
    log,
    // No worker runtime emits 'drain' here for an app to take over: long-lived connections are cut at the deadline.
    politely: false,
    cut: (connections) => log(`clusterize: cut ${connections} open connection${connections === 1 ? '' : 's'} at the shutdown deadline (shutdownTimeout ${timeout} ms)`),
    hooks,
    appShutdown: appShutdown?.promise,
  });
}
