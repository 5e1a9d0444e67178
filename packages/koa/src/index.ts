import { clusterizeApp, type AppFactory, type AppKind, type ClusterOptions } from '@clusterize/core';
import type Koa from 'koa';

export { clusterMetrics, METRICS_CONTENT_TYPE } from '@clusterize/core';
export type { ClusterOptions, ClusterizedServer, ListenCallback, Role } from '@clusterize/core';

/** Builds the app in each worker, so what it opens (database pools, timers) is never opened in the primary. */
export type KoaAppFactory = AppFactory<Koa>;

const koa: AppKind<Koa> = {
  expected: 'a Koa app (new Koa()) or a function that returns one',
  isApp: (value): value is Koa => {
    const app = value as Partial<Koa> | null;
    return typeof app === 'object' && app !== null && typeof app.callback === 'function' && typeof app.use === 'function';
  },
  handler: (app) => app.callback(),
};

/**
 * Runs a Koa 3 app on a cluster: `clusterize(app, { workers: 4 }).listen(3000)`.
 * `listen` takes what `app.listen` takes: (port, host?, callback?) or (options, callback?);
 * listen errors reach the callback. The same script runs as primary and as each worker.
 */
export function clusterize(appOrFactory: Koa | KoaAppFactory, options?: ClusterOptions) {
  return clusterizeApp(koa, appOrFactory, options);
}
