// The proxy pool bench's results: Markdown tables for stdout (and BENCHMARKS.md by hand),
// JSON in bench/results/pool-<time>.json and pool-latest.json. A ratio of Infinity (a
// worker got nothing) reads "inf" in both.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Machine } from '../machine.ts';
import { table } from '../report.ts';
import { medianWithInfinity } from '../stats.ts';
import type { ReloadWindows } from './after-reload.ts';
import type { PoolMode, PoolRun, PoolSettings } from './repetitions.ts';
import type { Split } from './split.ts';

export interface Settings extends PoolSettings {
  reps: number;
  /** 1 s windows measured after a reload. */
  windows: number;
  /** A split counts as even when max/min is at most this. */
  even: number;
}

export interface PoolResult {
  contender: string;
  label: string;
  mode: PoolMode;
  runs: PoolRun[];
  summary: PoolSummary;
  problem: string | null;
}

export interface PoolSummary {
  connections: { median: number; worst: number };
  requests: { median: number; worst: number };
  /** Runs whose requests max/min is at most `even`. */
  evenRuns: number;
}

export interface ReloadResult {
  contender: string;
  label: string;
  measured: ReloadWindows | null;
  problem: string | null;
}

export interface PoolBench {
  command: string;
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  settings: Settings;
  pools: PoolResult[];
  reloads: ReloadResult[];
}

const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));

export function summarize(runs: readonly PoolRun[], even: number): PoolSummary {
  const of = (ratios: number[]) => ({ median: medianWithInfinity(ratios), worst: ratios.length === 0 ? NaN : Math.max(...ratios) });
  return {
    connections: of(runs.map((run) => run.ratios.connections)),
    requests: of(runs.map((run) => run.ratios.requests)),
    evenRuns: runs.filter((run) => run.ratios.requests <= even).length,
  };
}

const ratio = (n: number) => (Number.isNaN(n) ? '-' : Number.isFinite(n) ? n.toFixed(2) : 'inf');
const int = (n: number) => Math.round(n).toLocaleString('en-US');
/** Counts per worker, busiest first: "18 / 2". */
const perWorker = (counts: Record<string, number>, workers: number) => {
  const values = Object.values(counts).sort((a, b) => b - a);
  while (values.length < workers) values.push(0);
  return values.map(int).join(' / ');
};
const problem = (text: string | null) => text ?? '';

const MODE_HEADINGS: Record<PoolMode, (s: Settings) => string> = {
  direct: (s) => `Direct: ${s.connections} keep-alive connections opened together, ${s.seconds} s of requests, ${s.reps} runs, ${s.workers} workers`,
  haproxy: (s) => `Through HAProxy (http-reuse safe, a fresh HAProxy per run): ${s.connections} client connections opened together, ${s.seconds} s of requests, ${s.reps} runs, ${s.workers} workers; connections = HAProxy's upstream connections`,
};

function poolTable(results: readonly PoolResult[], settings: Settings): string {
  return table(
    ['contender', 'connections max/min, each run', 'median', 'worst', 'requests max/min, each run', 'median', 'worst', `runs with requests max/min <= ${settings.even}`,
      'worst run: connections; requests per worker', 'errors', 'problem'],
    results.map((result) => {
      const { runs, summary } = result;
      const worst = runs.reduce<PoolRun | undefined>((a, b) => (a === undefined || b.ratios.requests > a.ratios.requests ? b : a), undefined);
      return [
        result.label, runs.map((run) => ratio(run.ratios.connections)).join(' '), ratio(summary.connections.median), ratio(summary.connections.worst),
        runs.map((run) => ratio(run.ratios.requests)).join(' '), ratio(summary.requests.median), ratio(summary.requests.worst),
        `${summary.evenRuns}/${runs.length}`,
        worst === undefined ? '-' : `${perWorker(worst.connections, settings.workers)}; ${perWorker(worst.requests, settings.workers)}`,
        String(runs.reduce((sum, run) => sum + run.errors, 0)), problem(result.problem),
      ];
    }),
  );
}

/** The end of the first window whose requests max/min is at most `even`, in seconds after the reload. */
function evenFrom(windows: readonly (Split & { ratios: { requests: number } })[], even: number): string {
  const index = windows.findIndex((window) => window.ratios.requests <= even);
  return index === -1 ? `never in ${windows.length} s` : `${index + 1} s`;
}

function reloadTable(results: readonly ReloadResult[], settings: Settings): string {
  const last = `${settings.windows - 1}-${settings.windows} s`;
  return table(
    ['contender', 'reload s', 'requests max/min 0-1 s', `requests max/min ${last}`, `first second with max/min <= ${settings.even} (window end)`,
      'requests max/min, each second', `connections; requests per worker ${last}`, 'errors', 'problem'],
    results.map(({ label, measured, problem: text }) => {
      if (measured === null) return [label, '-', '-', '-', '-', '-', '-', '-', problem(text)];
      const { windows } = measured;
      const final = windows.at(-1);
      return [
        label, measured.reloadSeconds.toFixed(1), ratio(windows[0]?.ratios.requests ?? NaN), ratio(final?.ratios.requests ?? NaN),
        evenFrom(windows, settings.even), windows.map((window) => ratio(window.ratios.requests)).join(' '),
        final === undefined ? '-' : `${perWorker(final.connections, settings.workers)}; ${perWorker(final.requests, settings.workers)}`,
        String(measured.errors), problem(text),
      ];
    }),
  );
}

export function renderPoolTables(bench: PoolBench): string {
  const { settings } = bench;
  const sections: string[] = [];
  for (const mode of ['direct', 'haproxy'] as const) {
    const results = bench.pools.filter((pool) => pool.mode === mode);
    if (results.length > 0) sections.push(`## ${MODE_HEADINGS[mode](settings)}`, poolTable(results, settings));
  }
  if (bench.reloads.length > 0) {
    sections.push(
      `## After one rolling reload: ${settings.connections} keep-alive connections kept busy, requests per worker in 1 s windows from the reload's end`,
      reloadTable(bench.reloads, settings),
    );
  }
  return sections.join('\n\n') + '\n';
}

/** Writes pool-<startedAt>.json and pool-latest.json; returns their paths. */
export function writePoolResults(bench: PoolBench): string[] {
  mkdirSync(RESULTS, { recursive: true });
  const json = JSON.stringify(bench, (_key, value: unknown) => (value === Infinity ? 'inf' : value), 2) + '\n';
  const paths = [`${RESULTS}pool-${bench.startedAt.replace(/[:.]/g, '-')}.json`, `${RESULTS}pool-latest.json`];
  for (const path of paths) writeFileSync(path, json);
  return paths;
}
