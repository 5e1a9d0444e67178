// The node:cluster contender's primary: `node node-cluster-primary.ts <app> <workers>`, with
// BENCH_SCHED=rr|none. SIGHUP is the usual rolling reload (fork a new worker, wait for its
// 'listening', disconnect the old one); SIGTERM disconnects every worker and exits 0.
import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

/** How long a disconnected worker gets to close its connections before it is killed. */
const DISCONNECT_TIMEOUT_MS = 5_000;

const [app, count = '2'] = process.argv.slice(2);
cluster.schedulingPolicy = process.env.BENCH_SCHED === 'none' ? cluster.SCHED_NONE : cluster.SCHED_RR;
cluster.setupPrimary({ exec: app });

async function forkListening(): Promise<AddressInfo> {
  const worker = cluster.fork();
  const [address] = (await once(worker, 'listening')) as [AddressInfo];
  return address;
}

async function retire(worker: Worker): Promise<void> {
  const exited = once(worker, 'exit');
  worker.disconnect();
  const timer = setTimeout(() => worker.process.kill('SIGKILL'), DISCONNECT_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

async function reload(): Promise<void> {
  for (const old of Object.values(cluster.workers ?? {})) {
    if (old === undefined) continue;
    await forkListening();
    await retire(old);
  }
  console.log('reload complete');
}

let reloading = Promise.resolve();
process.on('SIGHUP', () => {
  reloading = reloading.then(reload).catch((error: unknown) => console.error(`reload failed: ${String(error)}`));
});
process.on('SIGTERM', async () => {
  await Promise.all(Object.values(cluster.workers ?? {}).flatMap((worker) => (worker === undefined ? [] : [retire(worker)])));
  process.exit(0);
});

const addresses = await Promise.all(Array.from({ length: Number(count) }, forkListening));
console.log(`ready on 127.0.0.1:${addresses[0]!.port}`);
