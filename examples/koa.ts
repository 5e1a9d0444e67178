// A Koa 3 app on a cluster. Run: PORT=3000 WORKERS=4 npx node examples/koa.ts (the pinned Node.js 24; plain `node` works on Node >= 22.18)
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { clusterize } from '@clusterize/koa';

const port = Number(process.env.PORT ?? 3000);
const workers = process.env.WORKERS && process.env.WORKERS !== 'auto' ? Number(process.env.WORKERS) : 'auto';

const app = new Koa();
app.use((ctx) => {
  if (ctx.path === '/') ctx.body = { hello: 'from Koa', pid: process.pid };
});

// This script runs in the primary and in every worker; only the workers serve.
const served = clusterize(app, { workers }).listen(port, (error) => {
  if (error) throw error;
  if (served.role !== 'worker') console.log(`listening on http://localhost:${(served.address() as AddressInfo).port}`);
});
