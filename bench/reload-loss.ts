// How many requests rolling reloads lose, counted over many runs (issue 22's measurement):
// `npm run bench:reload-loss` (30 runs) or `-- --runs N --reloads R --load churn|keep-alive`.
// Each run starts clusterize with the default policy and 2 workers, keeps autocannon's load
// on it, does R rolling reloads 0.5 s apart, and counts every request that failed. A loss
// this rare shows only over many runs: one run of bench/run.ts is one sample. Prints one
// line per run and a Markdown summary; writes bench/results/reload-loss-<time>.json.
// Runs one load at a time; on a shared machine wrap it in `flock /tmp/clusterize-load.lock`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_POLICY } from '@clusterize/core';
import { clusterize } from './contenders/clusterize.ts';
import { describeMachine } from './machine.ts';
import { reloadUnderLoad, type ReloadResult } from './reload.ts';
import { scenarios } from './scenarios.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '30' }, reloads: { type: 'string', default: '3' }, load: { type: 'string', default: 'churn' } },
});
const runs = Number(values.runs);
const reloads = Number(values.reloads);
if (!(Number.isInteger(runs) && runs >= 1 && Number.isInteger(reloads) && reloads >= 1)) throw new Error('--runs and --reloads take integers >= 1');
const scenario = scenarios.find((s) => s.id === values.load && (s.id === 'churn' || s.id === 'keep-alive'));
if (scenario === undefined) throw new Error(`--load is churn or keep-alive, got ${values.load}`);

/** Each run takes about 10 s; whatever happens, the bench ends. */
setTimeout(() => {
  console.error(`bench:reload-loss: still running after ${runs} minutes; giving up`);
  process.exit(1);
}, runs * 60_000).unref();

const contender = clusterize(DEFAULT_POLICY, true);
const settings = { rounds: 1, seconds: 1, warmupSeconds: 0, workers: 2, reloads, reloadUnder: [scenario.id] };
const results: ReloadResult[] = [];
for (let run = 1; run <= runs; run++) {
  const result = await reloadUnderLoad(contender, scenario, settings);
  results.push(result);
  const expected = settings.workers * (1 + reloads);
  process.stderr.write(`run ${run}/${runs}: ${result.reloadsDone} reloads, ${result.errors} failed of ${result.responses} (socket errors ${result.socketErrors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx}), ${result.workersSeen}/${expected} worker pids${result.problem === null ? '' : `, PROBLEM: ${result.problem}`}\n`);
}

const sum = (pick: (r: ReloadResult) => number) => results.reduce((total, r) => total + pick(r), 0);
const lossy = results.filter((r) => r.errors > 0).length;
const problems = results.filter((r) => r.problem !== null).length;
const summary = [
  `| policy | load | runs | reloads per run | requests | failed | runs with a failure | runs with a problem |`,
  `| --- | --- | --- | --- | --- | --- | --- | --- |`,
  `| ${DEFAULT_POLICY} | ${scenario.label} | ${runs} | ${reloads} | ${sum((r) => r.responses)} | ${sum((r) => r.errors)} | ${lossy} | ${problems} |`,
].join('\n');
console.log(summary);
const dir = new URL('./results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const file = new URL(`reload-loss-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, dir);
writeFileSync(file, `${JSON.stringify({ machine: describeMachine(), policy: DEFAULT_POLICY, load: scenario.id, runs, reloads, results }, null, 2)}\n`);
process.stderr.write(`bench:reload-loss: wrote ${file.pathname}\n`);
if (problems > 0) process.exitCode = 1;
