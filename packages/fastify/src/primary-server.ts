import type { ClusterizedServer, ListenCallback } from '@clusterize/core';
import type { FastifyInstance } from 'fastify';

type StartCluster = (callback: ListenCallback) => ClusterizedServer;

/**
 * In the primary, `fastify.server` never binds: its `listen()` starts the cluster and
 * reports the workers' address, so `fastify.listen()` resolves and logs the real address
 * through Fastify's own path while only workers serve. Returns a function that drains the
 * cluster, for `fastify.close()`.
 */
export function listenThroughCluster(fastify: FastifyInstance, start: StartCluster): () => Promise<void> {
  const server = fastify.server;
  let served: ClusterizedServer | undefined;
  Object.assign(server, {
    listen() {
      served = start((error) => (error === undefined ? server.emit('listening') : server.emit('error', error)));
      return server;
    },
    address: () => served?.address() ?? null,
  });
  return async () => served?.close();
}
