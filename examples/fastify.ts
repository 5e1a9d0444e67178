// A Fastify 5 server on a cluster. Run: PORT=3000 WORKERS=4 npx node examples/fastify.ts (the pinned Node.js 24; plain `node` works on Node >= 22.18)
import Fastify from 'fastify';
import { clusterPlugin } from '@clusterize/fastify';

const port = Number(process.env.PORT ?? 3000);
const workers = process.env.WORKERS && process.env.WORKERS !== 'auto' ? Number(process.env.WORKERS) : 'auto';

const fastify = Fastify();
await fastify.register(clusterPlugin, { workers });
fastify.get('/', async () => ({ hello: 'from Fastify', pid: process.pid }));

// This script runs in the primary and in every worker; in the primary, listen() starts the
// workers and resolves with their address, and only the workers serve.
const address = await fastify.listen({ port });
if (fastify.cluster.role !== 'worker') console.log(`listening on ${address}`);
