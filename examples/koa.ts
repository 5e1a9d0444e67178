// A Koa 3 app on a cluster. Run: PORT=3000 WORKERS=4 ADMIN_PORT=9100 npx node examples/koa.ts (the pinned Node.js 24; plain `node` works on Node >= 22.18)
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { clusterize } from '@clusterize/koa';

const port = Number(process.env.PORT ?? 3000);
const workers = process.env.WORKERS && process.env.WORKERS !== 'auto' ? Number(process.env.WORKERS) : 'auto';
// ADMIN_PORT=9100 serves /metrics, /livez, /readyz and /workers on 127.0.0.1:9100 (0: a free port).
const admin = process.env.ADMIN_PORT === undefined ? undefined : { port: Number(process.env.ADMIN_PORT) };

const app = new Koa();
app.use((ctx) => {
  if (ctx.path === '/') ctx.body = { hello: 'from Koa', pid: process.pid };
});

// This script runs in the primary and in every worker; only the workers serve.
const served = clusterize(app, { workers, admin }).listen(port, (error) => {
  if (error) throw error;
  if (served.role !== 'worker') console.log(`listening on http://localhost:${(served.address() as AddressInfo).port}`);
});
