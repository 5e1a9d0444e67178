import { clusterizeServer, currentWorker, drainOnSignals, resolveOptions, roleFor, trackConnections, type Cluster, type ClusterOptions, type Role } from '@clusterize/core';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { drainOnClose } from './drain-on-close.js';
import { listenThroughCluster } from './primary-server.js';

export { clusterMetrics, METRICS_CONTENT_TYPE } from '@clusterize/core';
export type { ClusterOptions, Role } from '@clusterize/core';

/** `fastify.cluster`: where this process stands in the cluster. */
export interface FastifyCluster {
  /** 'primary' starts the cluster and serves nothing; 'worker' serves; 'in-process' serves alone (workers: 0). */
  readonly role: Role;
  /** This worker's id (1, 2, ...; a replacement gets a new one); undefined outside a worker. */
  readonly workerId: number | undefined;
  /** The cluster, in the primary once `listen()` has started it: `workers`, `broadcast()`, 'message' events. */
  readonly primary: Cluster | undefined;
  /** Sends a message to the primary (its cluster emits 'message'); false where there is no primary. */
  send(message: unknown): boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    cluster: FastifyCluster;
  }
}

async function clusterize(fastify: FastifyInstance, options: ClusterOptions): Promise<void> {
  // Validates the options (coded errors) whatever the role.
  const served = clusterizeServer(() => fastify.server, options);
  const role = roleFor(options);
  const worker = currentWorker();
  let primary: Cluster | undefined;
  fastify.decorate('cluster', {
    role,
    workerId: worker?.id,
    get primary() { return primary; },
    send: (message: unknown) => worker !== undefined && process.connected && process.send!(message, undefined, undefined, ignoreError),
  } satisfies FastifyCluster);
  if (role === 'primary') {
    const closeCluster = listenThroughCluster(fastify, (callback) => {
      const listening = served.listen(callback);
      primary = listening.cluster;
      // On SIGTERM the cluster drains, then the primary's own onClose hooks run.
      primary?.beforeExit(() => fastify.close());
      return listening;
    });
    fastify.addHook('preClose', closeCluster);
    return;
  }
  const resolved = resolveOptions(options, { allowZeroWorkers: true });
  // Every connection from the first: fastify.close() drains them as a worker does.
  trackConnections(fastify.server);
  drainOnClose(fastify, resolved);
  if (worker === undefined) {
    // In-process: SIGTERM drains as a cluster would, through fastify.close().
    drainOnSignals(resolved, { hook: () => fastify.close() });
    return;
  }
  // Ready only once Fastify listens on every address ('localhost' may be 127.0.0.1 and ::1).
  // The primary's fastify.listen() binds those extra addresses itself once the workers are
  // ready; by then the cluster holds them, and Fastify ignores the EADDRINUSE.
  worker.waitFor(new Promise<void>((resolve) => fastify.addHook('onListen', (done) => { resolve(); done(); })));
  worker.beforeExit(() => fastify.close());
}

// A primary that is gone cannot be told; the worker is about to be drained anyway.
function ignoreError(): void {}

/**
 * Runs the server on a cluster: `await fastify.register(clusterPlugin, { workers: 4 })`
 * before `fastify.listen()`. The primary runs the same script, registers the same plugins
 * and serves nothing: keep expensive ones out of it (see `fastify.cluster.role`).
 */
export const clusterPlugin: FastifyPluginAsync<ClusterOptions> = fp(clusterize, { name: '@clusterize/fastify', fastify: '5.x' });

export default clusterPlugin;
