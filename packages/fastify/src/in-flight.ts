import type http from 'node:http';
import type { FastifyInstance } from 'fastify';

/**
 * Stopgap until core exports its connection drain for servers it did not start: Node's
 * `server.close()` (and so `fastify.close()`) waits out `keepAliveTimeout` for a keep-alive
 * connection whose request was in flight. Returns what to run in `preClose`: responses not
 * yet started go out with `Connection: close`, started ones close their connection once done.
 */
export function closeAfterInFlight(fastify: FastifyInstance): () => void {
  const inFlight = new Set<http.ServerResponse>();
  fastify.addHook('onRequest', (_request, reply, done) => {
    inFlight.add(reply.raw);
    reply.raw.once('close', () => inFlight.delete(reply.raw));
    done();
  });
  return () => {
    for (const response of inFlight) {
      if (!response.headersSent) response.setHeader('connection', 'close');
      else response.once('finish', () => setImmediate(() => fastify.server.closeIdleConnections()));
    }
  };
}
