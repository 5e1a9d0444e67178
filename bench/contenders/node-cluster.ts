import { fileURLToPath } from 'node:url';
import type { Contender } from './index.ts';
import { startListening, stopProcess } from './launch.ts';

const PRIMARY = fileURLToPath(new URL('./node-cluster-primary.ts', import.meta.url));
const RELOAD_TIMEOUT_MS = 60_000;

function nodeCluster(id: string, label: string, sched: 'rr' | 'none'): Contender {
  return {
    id,
    label,
    cluster: true,
    async start(app, workers) {
      const { proc, port } = await startListening([PRIMARY, app, String(workers)], { PORT: '0', BENCH_SCHED: sched }, 'ready on ');
      const reload = async () => {
        const mark = proc.mark();
        proc.signal('SIGHUP');
        await proc.waitFor(/reload complete/, RELOAD_TIMEOUT_MS, mark);
      };
      return { port, primaryPid: proc.pid, reload, stop: () => stopProcess(proc, true) };
    },
  };
}

export const nodeClusterRoundRobin = nodeCluster('node-cluster-rr', 'node:cluster round-robin', 'rr');
export const nodeClusterShared = nodeCluster('node-cluster-none', 'node:cluster SCHED_NONE', 'none');
