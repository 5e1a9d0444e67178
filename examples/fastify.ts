// A Fastify 5 server on a cluster. Run: PORT=3000 WORKERS=4 ADMIN_PORT=9100 npx node examples/fastify.ts (the pinned Node.js 24; plain `node` works on Node >= 22.18)
import Fastify from 'fastify';
import { clusterPlugin } from '@clusterize/fastify';

const port = Number(process.env.PORT ?? 3000);
const workers = process.env.WORKERS && process.env.WORKERS !== 'auto' ? Number(process.env.WORKERS) : 'auto';
// ADMIN_PORT=9100 serves /metrics, /livez, /readyz and /workers on 127.0.0.1:9100 (0: a free port).
const admin = process.env.ADMIN_PORT === undefined ? undefined : { port: Number(process.env.ADMIN_PORT) };

const fastify = Fastify();
await fastify.register(clusterPlugin, { workers, admin });
fastify.get('/', async () => ({ hello: 'from Fastify', pid: process.pid }));

// This script runs in the primary and in every worker; in the primary, listen() starts the
// workers and resolves with their address, and only the workers serve.
const address = await fastify.listen({ port });
if (fastify.cluster.role !== 'worker') console.log(`listening on ${address}`);
