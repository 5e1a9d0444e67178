import { drainServer, type ResolvedOptions } from '@clusterize/core';
import type { FastifyInstance } from 'fastify';

/**
 * fastify.close() in a worker or in-process drains its server with core's drain, the one
 * a worker runs: preClose starts it (responses in flight get `Connection: close`, idle
 * keep-alive connections close after a grace, what is left at shutdownTimeout is cut),
 * then Fastify's own server.close() stops accepting and resolves once the last connection
 * is gone; without it, Node waits out keepAliveTimeout for a keep-alive connection whose
 * request was in flight. onClose logs what the deadline cut. In a worker the runtime has
 * drained the server before it calls fastify.close(): this finds nothing left.
 */
export function drainOnClose(fastify: FastifyInstance, { shutdownTimeout, log }: Pick<ResolvedOptions, 'shutdownTimeout' | 'log'>): void {
  let drained = Promise.resolve(0);
  fastify.addHook('preClose', (done) => {
    drained = drainServer(fastify.server, Date.now() + shutdownTimeout);
    done();
  });
  fastify.addHook('onClose', async () => {
    const cut = await drained;
    if (cut > 0) log(`clusterize: fastify.close() cut ${cut} open connection${cut === 1 ? '' : 's'} at the shutdown deadline (shutdownTimeout ${shutdownTimeout} ms)`);
  });
}
