import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderChart } from './chart.ts';
import { renderFigures } from './figures.ts';
import type { Machine } from './machine.ts';
import type { ReloadResult } from './reload.ts';
import type { Row, ScenarioResult, Target } from './summary.ts';
import type { Settings } from './rounds.ts';

export interface BenchResults {
  /** 'partial': some scenarios only (--scenarios); written like a quick run, never into BENCHMARKS.md. */
  mode: 'full' | 'quick' | 'partial';
  command: string;
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  settings: Settings;
  scenarios: ScenarioResult[];
  targets: Target[];
  reload: ReloadResult[];
}

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
export const BENCHMARKS_MD = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));
const NOTES_HEADING = '## Notes';

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const fixed = (n: number | null, digits = 1) => (n === null || !Number.isFinite(n) ? (n === Infinity ? '∞' : '-') : n.toFixed(digits));
const times = (n: number | null) => (n === null || !Number.isFinite(n) ? '-' : `${n.toFixed(2)}x`);

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function scenarioTable(rows: readonly Row[]): string {
  return table(
    ['contender', 'req/s', '±', 'vs RR', 'p50 ms', 'p99 ms', 'p99 vs RR', 'errors', 'requests per worker', 'max/min', 'primary CPU ms per 1k conns', 'CPU vs RR'],
    rows.map((row) => [
      row.label, int(row.requestsPerSecond), Number.isFinite(row.spread) ? `${Math.round(row.spread * 100)}%` : '-', times(row.vsBaseline.requestsPerSecond), fixed(row.p50), fixed(row.p99),
      times(row.vsBaseline.p99), String(row.errors), row.perWorker.length === 0 ? '-' : row.perWorker.map(int).join(' / '),
      fixed(row.balance, 2), fixed(row.cpuPer1000), times(row.vsBaseline.cpuPer1000),
    ]),
  );
}

function problems(rows: readonly Row[]): string {
  const lines = rows.flatMap((row) => row.problems.map((problem) => `- ${row.label}, ${problem}`));
  return lines.length === 0 ? '' : `\nProblems:\n${lines.join('\n')}\n`;
}

function reloadTable(results: readonly ReloadResult[], workers: number): string {
  return table(
    ['contender', 'load', 'reloads', 'failed requests', 'socket errors / timeouts / non-2xx', 'responses', 'worker pids seen (expected)', 's per reload', 'problem'],
    results.map((r) => [
      r.label, r.load, `${r.reloadsDone}/${r.reloadsRequested}`, String(r.errors), `${r.socketErrors} / ${r.timeouts} / ${r.non2xx}`,
      int(r.responses), `${r.workersSeen} (${workers * (1 + r.reloadsDone)})`,
      r.reloadSeconds.map((s) => s.toFixed(1)).join(', ') || '-', r.problem ?? '',
    ]),
  );
}

/** The tables of a run in Markdown: targets, one table per scenario, reload under load. */
export function renderTables(results: BenchResults): string {
  const sections = [
    '## Targets (issue 4)',
    table(['scenario', 'target', 'measured', 'met'], results.targets.map((t) => [t.scenario, t.goal, t.measured, t.met ? 'yes' : '**no**'])),
  ];
  for (const scenario of results.scenarios) {
    sections.push(`## ${scenario.label}`, scenarioTable(scenario.rows) + problems(scenario.rows));
  }
  if (results.reload.length > 0) {
    sections.push(`## Reload under load (${results.settings.reloads} rolling reloads each)`, reloadTable(results.reload, results.settings.workers));
  }
  return sections.join('\n\n') + '\n';
}

function method(results: BenchResults): string {
  const { settings } = results;
  return `Every contender runs the same app with ${settings.workers} workers (the single process: one), on 127.0.0.1,
loaded by autocannon ${results.machine.autocannon} in the bench's own process. One run, interleaved: for each
scenario every contender is started once and warmed up with ${settings.warmupSeconds} s of unmeasured load; then
${settings.rounds} rounds each measure every contender for ${settings.seconds} s in turn, the order rotated by one
each round (the others sit idle meanwhile). Figures are medians over the rounds; errors are summed
over them. "vs RR" divides by node:cluster round-robin's median from the same run.

- **req/s, p50, p99**: responses per second (**±**: half its range over the rounds, the noise); latency from writing the request to the response
  head, including the TCP connect when each request opens a new connection. Taken from
  autocannon's client events: its own counters read zero with \`reconnectRate: 1\` (see bench/load.ts).
- **errors**: non-2xx responses + socket errors + timeouts.
- **requests per worker**: each response names the pid that served it; counts of the median round,
  busiest first. **max/min**: busiest over idlest worker (median over rounds; ∞ = a worker got nothing).
- **primary CPU per 1k conns**: user + system CPU time of the dispatching process (node:cluster's and
  clusterize's primary) during the measured load, from /proc, per 1,000 connections served. Each app
  response says how many requests its connection has carried, so a churn run proves that every
  request came on a new connection.
- **+ PROXY protocol** (sticky's cost only): clusterize with \`--proxy-protocol\`; every connection starts with a
  PROXY protocol v2 header naming a made-up client in 10.0.0.0/8, another per connection (bench/proxy-header.ts),
  which sticky hashes. Compare the two such rows with each other, not with the plain ones.
- **Reload under load**: ${settings.reloads} rolling reloads one after the other, 0.5 s apart, under each load:
  clusterize (default policy, SIGHUP to its primary), node:cluster round-robin with the usual
  fork-then-disconnect reload (bench/contenders/node-cluster-primary.ts; a worker still alive 5 s
  after \`disconnect()\` is killed) and \`pm2 reload\` in cluster mode. Failed requests = socket errors +
  timeouts + non-2xx.`;
}

/** The file a full run's JSON is written to, in bench/results/. */
export const jsonNameOf = (results: BenchResults) => `${results.startedAt.replace(/[:.]/g, '-')}.json`;

/**
 * How the run was started. `npm_lifecycle_event` named an npm script only when the bench ran
 * as one (`npm run bench`): run through `npx node bench/run.ts` it said `npx`, which run.ts
 * now ignores and which older results still hold.
 */
function shownCommand(results: BenchResults): string {
  if (/^npm run (?!bench)/.test(results.command)) return '`node bench/run.ts`';
  return results.command.startsWith('npm run') ? `\`${results.command}\` (bench/run.ts)` : `\`${results.command}\``;
}

/** The hand-written notes of BENCHMARKS.md as it is (a heading and a line when it has none). */
export function notesOf(benchmarksMd: string): string {
  const at = benchmarksMd.indexOf(`\n${NOTES_HEADING}\n`);
  return at === -1 ? `${NOTES_HEADING}\n\nObservations on the run above, written by hand; kept when the file is generated again.\n` : benchmarksMd.slice(at + 1);
}

/** BENCHMARKS.md for a full run: everything but `notes` made from `results`. */
export function benchmarksMarkdown(results: BenchResults, notes: string): string {
  const { machine } = results;
  const jsonName = jsonNameOf(results);
  return `# Benchmarks

Generated by ${shownCommand(results)} from the run of ${results.startedAt}; raw figures in
[bench/results/${jsonName}](bench/results/${jsonName}).
\`node bench/rewrite.ts\` writes this file again from them, running nothing; it keeps the notes.

Machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.kernel}, Node.js ${machine.node}.
Code: ${machine.source}.

${method(results)}

![requests per second by scenario and contender](bench/results/chart.svg)

${renderTables(results)}
${renderFigures(results)}
${notes}`;
}

/** Writes the JSON; for a full run also the chart and BENCHMARKS.md (its Notes section is kept). Returns the paths written. */
export function writeResults(results: BenchResults): string[] {
  mkdirSync(RESULTS, { recursive: true });
  const json = JSON.stringify(results, null, 2) + '\n';
  if (results.mode !== 'full') {
    const path = `${RESULTS}${results.mode}.tmp.json`;
    writeFileSync(path, json);
    return [path];
  }
  const jsonName = jsonNameOf(results);
  writeFileSync(`${RESULTS}${jsonName}`, json);
  writeFileSync(`${RESULTS}latest.json`, json);
  writeFileSync(`${RESULTS}chart.svg`, renderChart(results.scenarios, `Requests/s, ${results.settings.workers} workers, medians of ${results.settings.rounds} rounds (dashed: node:cluster round-robin)`));
  const old = existsSync(BENCHMARKS_MD) ? readFileSync(BENCHMARKS_MD, 'utf8') : '';
  writeFileSync(BENCHMARKS_MD, benchmarksMarkdown(results, notesOf(old)));
  return [`${RESULTS}${jsonName}`, `${RESULTS}latest.json`, `${RESULTS}chart.svg`, BENCHMARKS_MD];
}
