// The benchmark suite: `npm run bench` (full, writes BENCHMARKS.md) or `npm run bench:quick`
// (one short round and one reload under keep-alive load: proves the suite works). Options: --rounds N, --seconds S,
// --scenarios a,b (only those; BENCHMARKS.md is left alone).
// Runs one load at a time; on a shared machine wrap it in `flock /tmp/clusterize-load.lock`.
import { parseArgs } from 'node:util';
import { contenders } from './contenders/index.ts';
import { describeMachine } from './machine.ts';
import { reloadContenders, reloadUnderLoad, type ReloadResult } from './reload.ts';
import { renderTables, writeResults, type BenchResults } from './report.ts';
import { contendersFor, scenarios } from './scenarios.ts';
import { checkTargets, summarize } from './summary.ts';
import { runScenario, type Settings, type Trial } from './rounds.ts';

const FULL: Settings = { rounds: 5, seconds: 2, warmupSeconds: 1, workers: 2, reloads: 3, reloadUnder: ['keep-alive', 'churn'] };
const QUICK: Settings = { rounds: 1, seconds: 1, warmupSeconds: 0, workers: 2, reloads: 1, reloadUnder: ['keep-alive'] };
/** Whatever happens, the bench ends: the full run takes about 10 minutes. */
const DEADLINE_MS = { full: 40 * 60_000, quick: 5 * 60_000 };

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, rounds: { type: 'string' }, seconds: { type: 'string' }, scenarios: { type: 'string' } },
});
const mode = values.quick ? 'quick' : 'full';
/** --scenarios a,b: only those (the run is then 'partial' and leaves BENCHMARKS.md alone). */
const only = values.scenarios?.split(',');
const chosen = only === undefined ? scenarios : scenarios.filter((s) => only.includes(s.id));
if (chosen.length === 0) throw new Error(`--scenarios names none of ${scenarios.map((s) => s.id).join(', ')}`);
const settings: Settings = {
  ...(values.quick ? QUICK : FULL),
  ...(values.rounds === undefined ? {} : { rounds: Number(values.rounds) }),
  ...(values.seconds === undefined ? {} : { seconds: Number(values.seconds) }),
};
if (!(settings.rounds >= 1 && settings.seconds >= 1)) throw new Error('--rounds and --seconds take numbers >= 1');

setTimeout(() => {
  console.error(`bench: still running after ${DEADLINE_MS[mode] / 60_000} minutes; giving up`);
  process.exit(1);
}, DEADLINE_MS[mode]).unref();

// npm sets npm_lifecycle_event for `npx` too (to 'npx'): only a bench script names how it ran.
const script = process.env.npm_lifecycle_event;
const command = script?.startsWith('bench') ? `npm run ${script}` : `node bench/run.ts ${process.argv.slice(2).join(' ')}`.trim();
const startedAt = new Date().toISOString();
const log = (line: string) => process.stderr.write(`${line}\n`);

const trials = new Map<string, Trial[]>();
for (const scenario of chosen) {
  trials.set(scenario.id, await runScenario(scenario, contendersFor(scenario, contenders), settings, (trial) => {
    const figures = trial.measured === null ? '' : `${Math.round(trial.measured.requestsPerSecond)} req/s, p99 ${trial.measured.p99.toFixed(1)} ms, ${trial.measured.errors} errors`;
    log(`${scenario.id} round ${trial.round}/${settings.rounds} ${trial.contender}: ${figures}${trial.problem === null ? '' : ` PROBLEM: ${trial.problem}`}`);
  }));
}

const reload: ReloadResult[] = [];
if (settings.reloads > 0) {
  for (const scenario of chosen.filter((s) => settings.reloadUnder.includes(s.id))) {
    for (const contender of reloadContenders) {
      const result = await reloadUnderLoad(contender, scenario, settings);
      reload.push(result);
      log(`reload ${scenario.id} ${contender.id}: ${result.reloadsDone} reloads, ${result.errors} failed of ${result.responses}${result.problem === null ? '' : ` PROBLEM: ${result.problem}`}`);
    }
  }
}

const summaries = chosen.map((scenario) => summarize(scenario, contendersFor(scenario, contenders), trials.get(scenario.id)!, scenario.workers ?? settings.workers));
const results: BenchResults = {
  mode: only === undefined ? mode : 'partial', command, startedAt, finishedAt: new Date().toISOString(), machine: describeMachine(), settings,
  scenarios: summaries, targets: checkTargets(summaries), reload,
};
process.stdout.write(`\n${renderTables(results)}`);
for (const path of writeResults(results)) log(`wrote ${path}`);

const failed = [
  ...summaries.flatMap((s) => s.rows.filter((row) => row.measured === 0).map((row) => `${s.id}/${row.contender}`)),
  ...reload.filter((r) => r.responses === 0).map((r) => `reload/${r.contender}`),
];
if (failed.length > 0) {
  log(`bench: no measurement at all for ${failed.join(', ')}`);
  process.exitCode = 1;
}
process.exit();
