import { fileURLToPath } from 'node:url';
import type { Contender } from './index.ts';
import { reloadBySighup, startListening, stopProcess } from './launch.ts';

const PRIMARY = fileURLToPath(new URL('./node-cluster-primary.ts', import.meta.url));

function nodeCluster(id: string, label: string, sched: 'rr' | 'none'): Contender {
  return {
    id,
    label,
    cluster: true,
    async start(app, workers) {
      const { proc, port } = await startListening([PRIMARY, app, String(workers)], { PORT: '0', BENCH_SCHED: sched }, 'ready on ');
      return { port, primaryPid: proc.pid, reload: reloadBySighup(proc, 'node:cluster'), stop: () => stopProcess(proc, true) };
    },
  };
}

export const nodeClusterRoundRobin = nodeCluster('node-cluster-rr', 'node:cluster round-robin', 'rr');
export const nodeClusterShared = nodeCluster('node-cluster-none', 'node:cluster SCHED_NONE', 'none');
