// Messaging between workers and the primary: `npm run bench:messaging` (about 20 s) or
// `-- --seconds N` per measurement. With 2 workers each:
// - node:cluster: raw process.send() round trips, the primary echoing each message with
//   worker.send(), one after another in each worker (a node:cluster primary in this process);
// - clusterize request/reply: `await currentWorker().request('echo', i)` answered by
//   `cluster.handle('echo', ...)`, one after another in each worker;
// - clusterize publish fan-out: one worker publishes a timestamp every 2 ms, every worker
//   (the sender included) times its arrival: the latency from publish() to each subscriber.
// Prints a Markdown table.
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createCluster } from '@clusterize/core';
import { describeMachine } from './machine.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' } } });
const seconds = Number(values.seconds);
if (!(seconds > 0)) throw new Error(`--seconds takes a number above 0, got ${values.seconds}`);
const WORKERS = 2;
const app = fileURLToPath(new URL('./apps/messaging.ts', import.meta.url));

setTimeout(() => {
  console.error('bench:messaging: still running after 3 minutes; giving up');
  process.exit(1);
}, 180_000).unref();

/** node:cluster: round trips per second over all workers. */
async function nodeCluster(): Promise<number> {
  cluster.setupPrimary({ exec: app });
  const counts = await Promise.all(Array.from({ length: WORKERS }, () => new Promise<number>((resolve) => {
    const worker = cluster.fork({ BENCH_SECONDS: String(seconds) });
    worker.on('message', (message: { done?: number }) => {
      if (message.done === undefined) return worker.send(message);
      resolve(message.done);
      worker.kill();
    });
  })));
  return counts.reduce((a, b) => a + b, 0) / seconds;
}

const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/** clusterize: request/reply round trips per second over all workers, and publish fan-out latencies (ms). */
async function clusterize(): Promise<{ roundTrips: number; latencies: number[] }> {
  const primary = createCluster({ script: app, workers: WORKERS, signals: false, log: () => {} });
  primary.handle('echo', (n) => n);
  let reports: unknown[] = [];
  let reported: () => void = () => {};
  primary.handle('bench:report', (report) => {
    reports.push(report);
    if (reports.length === WORKERS) reported();
  });
  await primary.start();
  const round = async (mode: 'requests' | 'fanout') => {
    reports = [];
    const done = new Promise<void>((resolve) => { reported = resolve; });
    primary.publish('bench:go', { mode, seconds });
    await done;
    return reports;
  };
  const counts = (await round('requests')) as { count: number }[];
  const latencies = ((await round('fanout')) as { latencies: number[] }[]).flatMap((report) => report.latencies);
  await primary.shutdown();
  return { roundTrips: counts.reduce((sum, { count }) => sum + count, 0) / seconds, latencies: latencies.sort((a, b) => a - b) };
}

const raw = await nodeCluster();
const { roundTrips, latencies } = await clusterize();
const machine = describeMachine();
const fixed = (value: number) => value.toFixed(value < 10 ? 2 : 0);
console.log(`Machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.kernel}, Node.js ${machine.node}; ${machine.source}. ${WORKERS} workers, ${seconds} s per measurement.\n`);
console.log('| measurement | result |');
console.log('| --- | --- |');
console.log(`| node:cluster process.send() round trips, one at a time per worker | ${fixed(raw)}/s (${fixed(raw / WORKERS)}/s per worker) |`);
console.log(`| clusterize request/reply round trips, one at a time per worker | ${fixed(roundTrips)}/s (${fixed(roundTrips / WORKERS)}/s per worker; ${(roundTrips / raw).toFixed(2)}x node:cluster's) |`);
console.log(`| clusterize publish fan-out latency, publish() to each of ${WORKERS} subscribers (${latencies.length} deliveries, one publish every 2 ms) | p50 ${fixed(percentile(latencies, 0.5))} ms, p99 ${fixed(percentile(latencies, 0.99))} ms, max ${fixed(latencies.at(-1) ?? NaN)} ms |`);
