import http from 'node:http';
import { clusterizeServer, clusterizeTypeError, type ClusterOptions } from '@clusterize/core';
import type Koa from 'koa';

export type { ClusterOptions, ClusterizedServer, ListenCallback, Role } from '@clusterize/core';

/** Builds the app in each worker, so what it opens (database pools, timers) is never opened in the primary. */
export type KoaAppFactory = () => Koa | Promise<Koa>;

const EXPECTED = 'a Koa app (new Koa()) or a function that returns one';

function isKoaApp(value: unknown): value is Koa {
  const app = value as Partial<Koa> | null;
  return typeof app === 'object' && app !== null && typeof app.callback === 'function' && typeof app.use === 'function';
}

function invalidApp(value: unknown, source: string) {
  return clusterizeTypeError('ERR_CLUSTERIZE_INVALID_APP', `expected ${EXPECTED}, ${source} ${value === null ? 'null' : typeof value}`);
}

async function build(appOrFactory: Koa | KoaAppFactory): Promise<Koa> {
  if (isKoaApp(appOrFactory)) return appOrFactory;
  const app = await appOrFactory();
  if (!isKoaApp(app)) throw invalidApp(app, 'the factory returned');
  return app;
}

/**
 * Runs a Koa 3 app on a cluster: `clusterize(app, { workers: 4 }).listen(3000)`.
 * `listen` takes what `app.listen` takes: (port, host?, callback?) or (options, callback?);
 * listen errors reach the callback. The same script runs as primary and as each worker.
 */
export function clusterize(appOrFactory: Koa | KoaAppFactory, options?: ClusterOptions) {
  if (!isKoaApp(appOrFactory) && typeof appOrFactory !== 'function') throw invalidApp(appOrFactory, 'got');
  return clusterizeServer(async () => http.createServer((await build(appOrFactory)).callback()), options);
}
