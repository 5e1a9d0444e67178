import { constants } from 'node:os';
import type net from 'node:net';
import { drainServer } from './drain/connections.js';
import { EXIT_GRACE_MS } from './drain/exit-after-drain.js';

export interface InProcessSettings {
  shutdownTimeout: number;
  signals: boolean;
  log(line: string): void;
}

type Drain = (deadline: number) => Promise<void>;

/** What SIGTERM drains in this process, with the longest shutdownTimeout asked for. */
const drains = new Set<Drain>();
let timeout = 0;
let log: (line: string) => void = () => {};
let received = 0;

/**
 * In-process mode (`workers: 0`) answers SIGTERM and SIGINT as a cluster does: every
 * registered `drain` runs (up to shutdownTimeout), then the process exits 0; a second
 * signal exits at once with 128 + the signal number. Nothing is registered with
 * `signals: false`. One pair of process listeners serves every server of the process.
 */
export function drainOnSignals(settings: InProcessSettings, drain: Drain): void {
  if (!settings.signals) return;
  if (drains.size === 0) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  drains.add(drain);
  timeout = Math.max(timeout, settings.shutdownTimeout);
  log = settings.log;
}

function onSignal(signal: NodeJS.Signals): void {
  received++;
  if (received > 1) {
    log(`clusterize: ${signal} received again; exiting`);
    process.exit(128 + (constants.signals[signal] ?? 0));
  }
  log(`clusterize: ${signal} received; draining (up to ${timeout} ms; send it again to stop at once)`);
  setTimeout(() => {
    log(`clusterize: still draining ${timeout + EXIT_GRACE_MS} ms after ${signal}; exiting`);
    process.exit(1);
  }, timeout + EXIT_GRACE_MS);
  const deadline = Date.now() + timeout;
  Promise.all([...drains].map((drain) => drain(deadline))).then(() => process.exit(0), (error: unknown) => {
    log(`clusterize: draining failed: ${(error as Error)?.stack ?? String(error)}`);
    process.exit(1);
  });
}

/**
 * Drains a server that serves alone: stops accepting (Node also closes the keep-alive
 * connections idle right now), lets in-flight requests finish with `Connection: close`,
 * destroys what is left at `deadline`. The server must have been tracked since it listened.
 */
export async function drainLoneServer(server: net.Server, deadline: number): Promise<void> {
  server.close();
  await drainServer(server, deadline);
}
