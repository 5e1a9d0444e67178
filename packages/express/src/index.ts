import http from 'node:http';
import { clusterizeServer, clusterizeTypeError, type ClusterOptions } from '@clusterize/core';
import type { Express } from 'express';

export type { ClusterOptions, ClusterizedServer, ListenCallback, Role } from '@clusterize/core';

/** Builds the app in each worker, so what it opens (database pools, timers) is never opened in the primary. */
export type ExpressAppFactory = () => Express | Promise<Express>;

const EXPECTED = 'an Express app (express()) or a function that returns one';

function isExpressApp(value: unknown): value is Express {
  const app = value as Record<string, unknown>;
  return typeof value === 'function' && typeof app.listen === 'function' && typeof app.set === 'function';
}

function invalidApp(value: unknown, source: string) {
  return clusterizeTypeError('ERR_CLUSTERIZE_INVALID_APP', `expected ${EXPECTED}, ${source} ${value === null ? 'null' : typeof value}`);
}

async function build(appOrFactory: Express | ExpressAppFactory): Promise<Express> {
  if (isExpressApp(appOrFactory)) return appOrFactory;
  const app = await appOrFactory();
  if (!isExpressApp(app)) throw invalidApp(app, 'the factory returned');
  return app;
}

/**
 * Runs an Express 5 app on a cluster: `clusterize(app, { workers: 4 }).listen(3000)`.
 * `listen` takes what `app.listen` takes: (port, host?, callback?) or (options, callback?);
 * listen errors reach the callback. The same script runs as primary and as each worker.
 */
export function clusterize(appOrFactory: Express | ExpressAppFactory, options?: ClusterOptions) {
  if (typeof appOrFactory !== 'function') throw invalidApp(appOrFactory, 'got');
  return clusterizeServer(async () => http.createServer(await build(appOrFactory)), options);
}
