// The worker side of bench/messaging.ts, in both roles.
// - A clusterize worker: listens (to become ready), then on the primary's 'bench:go' runs
//   `request('echo', i)` round trips one after another, or (fan-out) stamps publishes to
//   'bench:tick' (slot 0, one every 2 ms) while every worker times their arrival; then
//   reports with request('bench:report', ...).
// - A node:cluster worker: process.send() round trips with the primary, which echoes each
//   message back, one after another; then sends { done: count }.
import cluster from 'node:cluster';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { currentWorker } from '@clusterize/core';

/** Wall-clock milliseconds with sub-millisecond resolution, comparable between processes. */
const now = () => performance.timeOrigin + performance.now();

interface Go {
  mode: 'requests' | 'fanout';
  seconds: number;
}

const worker = currentWorker();
if (worker !== undefined) {
  http.createServer((req, res) => res.end()).listen(0, '127.0.0.1');
  const latencies: number[] = [];
  worker.subscribe('bench:tick', (data) => latencies.push(now() - (data as { at: number }).at));
  worker.subscribe('bench:go', async (data) => {
    const { mode, seconds } = data as Go;
    const until = now() + seconds * 1000;
    if (mode === 'requests') {
      let count = 0;
      while (now() < until) await worker.request('echo', count++);
      await worker.request('bench:report', { count });
      return;
    }
    latencies.length = 0;
    if (worker.slot === 0) {
      while (now() < until) {
        worker.publish('bench:tick', { at: now() });
        await sleep(2);
      }
    } else {
      await sleep(seconds * 1000);
    }
    // The last ticks are still on their way.
    await sleep(200);
    await worker.request('bench:report', { latencies });
  });
} else if (cluster.isWorker) {
  const seconds = Number(process.env.BENCH_SECONDS);
  const roundTrip = (i: number) => new Promise<void>((resolve) => {
    process.once('message', () => resolve());
    process.send!({ i });
  });
  const until = now() + seconds * 1000;
  let count = 0;
  while (now() < until) await roundTrip(count++);
  process.send!({ done: count });
}
