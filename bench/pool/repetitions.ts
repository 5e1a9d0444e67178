// A pool of keep-alive connections opened together (autocannon connects all its clients in
// one tick), busy for a few seconds, then closed; repeated on one running contender, either
// straight to its port or through a fresh HAProxy each time.
import type { Server } from '../contenders/index.ts';
import { measureLoad } from '../load.ts';
import { untilClosed } from './closed.ts';
import { throughHaproxy } from './haproxy.ts';
import { SplitCounter, type Ratios, type Split } from './split.ts';

export type PoolMode = 'direct' | 'haproxy';

export interface PoolSettings {
  /** Client connections of each pool. */
  connections: number;
  /** How long each pool sends requests. */
  seconds: number;
  workers: number;
}

export interface PoolRun extends Split {
  ratios: Ratios;
  responses: number;
  /** non-2xx responses + socket errors + timeouts. */
  errors: number;
}

const CLOSE_TIMEOUT_MS = 10_000;
/**
 * After the sockets are gone: least-connections learns of a close from the worker's next
 * load report (5 ms later); the rest is margin. The only wait that is not on a condition.
 */
const SETTLE_MS = 200;

async function pool(port: number, settings: PoolSettings): Promise<PoolRun> {
  const counter = new SplitCounter();
  const measured = await measureLoad({ port, connections: settings.connections, seconds: settings.seconds, churn: false, onResponse: counter.add });
  return { ...counter.split, ratios: counter.ratios(settings.workers), responses: measured.responses, errors: measured.errors };
}

/** One pool, opened and measured, then closed until the workers have seen every close. */
export async function poolRun(server: Server, mode: PoolMode, settings: PoolSettings): Promise<PoolRun> {
  const run = mode === 'direct' ? await pool(server.port, settings) : await throughHaproxy(server.port, (front) => pool(front, settings));
  await untilClosed(server.port, CLOSE_TIMEOUT_MS);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return run;
}
