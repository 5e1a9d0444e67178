import { workerStates, type ClusterStats } from './cluster-stats.js';
import type { WorkerProcess } from '../supervision/worker-process.js';

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: { labels?: Record<string, string | number>; value: number }[];
}

/**
 * clusterize's own metrics in the Prometheus text format: the workers by state, restarts,
 * reloads and connections the primary had to close, each worker's memory, loop delay and connections as of its last heartbeat,
 * and how many workers this scrape had to leave out. Written by hand, so that they exist
 * without prom-client too.
 */
export function renderClusterMetrics(workers: readonly WorkerProcess[], stats: ClusterStats, missing: number): string {
  const perWorker = (pick: (worker: WorkerProcess) => number | undefined) => workers.flatMap((worker) => {
    const value = pick(worker);
    return value === undefined ? [] : [{ labels: { worker: worker.id }, value }];
  });
  const families: Family[] = [
    {
      name: 'clusterize_workers', type: 'gauge', help: 'Worker processes by state.',
      samples: workerStates.map((state) => ({ labels: { state }, value: workers.filter((worker) => worker.state === state).length })),
    },
    {
      name: 'clusterize_worker_restarts_total', type: 'counter', help: 'Workers replaced because they crashed, hung, or outgrew maxMemory or maxAge.',
      samples: [...stats.restarts].map(([reason, value]) => ({ labels: { reason }, value })),
    },
    {
      name: 'clusterize_reloads_total', type: 'counter', help: 'Rolling reloads by how they ended.',
      samples: [...stats.reloads].map(([result, value]) => ({ labels: { result }, value })),
    },
    {
      name: 'clusterize_closed_connections_total', type: 'counter',
      help: 'Connections the primary accepted and closed without any worker serving them, by why.',
      samples: [...stats.closedConnections].map(([reason, value]) => ({ labels: { reason }, value })),
    },
    {
      name: 'clusterize_queued_connections_total', type: 'counter',
      help: 'Connections that waited in the primary for a worker with room because every worker was at maxConnections.',
      samples: [{ value: stats.queuedConnections }],
    },
    {
      name: 'clusterize_worker_resident_memory_bytes', type: 'gauge', help: 'Resident memory of each worker at its last heartbeat.',
      samples: perWorker((worker) => worker.rss),
    },
    {
      name: 'clusterize_worker_event_loop_delay_seconds', type: 'gauge', help: "99th percentile of each worker's event-loop delay over its last heartbeat interval.",
      samples: perWorker((worker) => (worker.loopDelay === undefined ? undefined : worker.loopDelay.p99 / 1000)),
    },
    {
      name: 'clusterize_worker_connections', type: 'gauge', help: 'Open connections of each worker.',
      samples: perWorker((worker) => worker.connections),
    },
    {
      name: 'clusterize_worker_connections_total', type: 'counter', help: 'Connections each worker accepted since it started.',
      samples: perWorker((worker) => worker.accepted),
    },
    {
      name: 'clusterize_worker_connections_passed_back_total', type: 'counter',
      help: 'Connections each worker accepted on a shared socket above its share and passed back to the primary, which gave them to the least busy worker.',
      samples: perWorker((worker) => worker.passedBack),
    },
    {
      name: 'clusterize_worker_shed_requests_total', type: 'counter',
      help: 'Times each worker, far above the mean of open connections, was asked to close some keep-alive connections so that they reopen elsewhere.',
      samples: perWorker((worker) => worker.shedRequests),
    },
    {
      name: 'clusterize_metrics_missing_workers', type: 'gauge', help: 'Workers left out of this scrape because they did not answer in time.',
      samples: [{ value: missing }],
    },
  ];
  return families.map(render).join('');
}

function render({ name, help, type, samples }: Family): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const { labels, value } of samples) {
    const set = labels === undefined ? '' : `{${Object.entries(labels).map(([key, label]) => `${key}="${label}"`).join(',')}}`;
    lines.push(`${name}${set} ${value}`);
  }
  return `${lines.join('\n')}\n`;
}
