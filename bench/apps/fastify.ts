import Fastify from 'fastify';
import { announce, BODY, burn, burnFor, listenOptions, stamp } from './serve.ts';

const app = Fastify();
app.addHook('onRequest', async (request, reply) => {
  burn(burnFor(request.url));
  stamp(request.raw, reply.raw);
});
app.get('/', async () => BODY);
app.get('/burn', async () => BODY);
await app.listen(listenOptions());
announce(app.server.address());
