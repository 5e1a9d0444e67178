import http from 'node:http';
import { workerReport, type WorkerReport } from '../admin/admin-server.js';
import type { ClusterReport } from '../control/protocol.js';
import { clusterizeError } from '../errors.js';
import { MAX_WORKERS } from '../option-checks.js';
import { arrayOf } from '../schema.js';

const REQUEST_TIMEOUT_MS = 5_000;

/** What /workers answers: a worker list, draining workers beside the new ones during a reload. */
const workerList = arrayOf(workerReport, 4 * MAX_WORKERS);

/**
 * `clusterize status --admin-port PORT`: the admin server's /workers as a table, or as JSON
 * (`{ workers }`, as the control socket's report has them); ERR_CLUSTERIZE_ADMIN_UNREACHABLE
 * when nothing answers.
 */
export async function printAdminStatus(port: number, host: string, json: boolean): Promise<void> {
  const workers = await fetchWorkers(port, host);
  process.stdout.write(json ? `${JSON.stringify({ workers })}\n` : workerTable(workers, Date.now()));
}

/** `clusterize status [NAME]`: a line on the cluster, then its worker table. */
export function statusText(cluster: ClusterReport, now: number): string {
  const ready = cluster.workers.filter((worker) => worker.state === 'ready').length;
  const reloads = `${cluster.reloads} reload${cluster.reloads === 1 ? '' : 's'}`;
  const state = cluster.state === 'running' ? '' : `, ${cluster.state}`;
  return `${cluster.name} (pid ${cluster.pid}${state}): ${ready} of ${cluster.target} workers ready, policy ${cluster.policy}, up ${duration(now - cluster.startedAt)}, ${reloads}\n${workerTable(cluster.workers, now)}`;
}

function fetchWorkers(port: number, host: string): Promise<WorkerReport[]> {
  const where = `http://${host.includes(':') ? `[${host}]` : host}:${port}/workers`;
  const unreachable = (why: string) => clusterizeError('ERR_CLUSTERIZE_ADMIN_UNREACHABLE',
    `${where}: ${why} (is the cluster running with --admin-port ${port} --admin-host ${host}?)`);
  return new Promise((resolve, reject) => {
    const request = http.get({ host, port, path: '/workers', timeout: REQUEST_TIMEOUT_MS }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => { body += chunk; });
      response.on('end', () => {
        if (response.statusCode !== 200) return reject(unreachable(`answered ${response.statusCode}`));
        let workers: unknown;
        try {
          workers = JSON.parse(body);
        } catch {
          return reject(unreachable('did not answer with JSON'));
        }
        if (workerList(workers)) resolve(workers);
        else reject(unreachable('did not answer with a worker list'));
      });
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    request.on('error', (error: NodeJS.ErrnoException) => reject(unreachable(error.code ?? error.message)));
  });
}

/** id, slot, pid, state, uptime, rss, loop delay (p99), connections: one row per worker, columns aligned. */
function workerTable(workers: readonly WorkerReport[], now: number): string {
  return columns([
    ['id', 'slot', 'pid', 'state', 'uptime', 'rss', 'loop delay', 'connections'],
    ...workers.map((worker) => [
      String(worker.id),
      String(worker.slot),
      String(worker.pid ?? '-'),
      worker.state,
      duration(now - worker.startedAt),
      worker.rss === null ? '-' : `${(worker.rss / 1024 / 1024).toFixed(1)} MB`,
      worker.loopDelay === null ? '-' : `${worker.loopDelay.p99.toFixed(1)} ms`,
      String(worker.connections),
    ]),
  ]);
}

/** Rows as lines of columns, each as wide as its widest cell. */
export function columns(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => `${row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()}\n`).join('');
}

/** 42s, 3m 05s, 2h 10m, 4d 3h. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor(s / 3600) % 24}h`;
}
