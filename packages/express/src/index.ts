import { clusterizeApp, type AppFactory, type AppKind, type ClusterOptions } from '@clusterize/core';
import type { Express } from 'express';

export { clusterMetrics, METRICS_CONTENT_TYPE } from '@clusterize/core';
export type { ClusterOptions, ClusterizedServer, ListenCallback, Role } from '@clusterize/core';

/** Builds the app in each worker, so what it opens (database pools, timers) is never opened in the primary. */
export type ExpressAppFactory = AppFactory<Express>;

const express: AppKind<Express> = {
  expected: 'an Express app (express()) or a function that returns one',
  isApp: (value): value is Express => {
    const app = value as Record<string, unknown>;
    return typeof value === 'function' && typeof app.listen === 'function' && typeof app.set === 'function';
  },
  // An Express app is itself a (req, res) listener.
  handler: (app) => app,
};

/**
 * Runs an Express 5 app on a cluster: `clusterize(app, { workers: 4 }).listen(3000)`.
 * `listen` takes what `app.listen` takes: (port, host?, callback?) or (options, callback?);
 * listen errors reach the callback. The same script runs as primary and as each worker.
 */
export function clusterize(appOrFactory: Express | ExpressAppFactory, options?: ClusterOptions) {
  return clusterizeApp(express, appOrFactory, options);
}
