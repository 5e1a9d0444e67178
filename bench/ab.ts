// Before/after: two builds of the clusterize CLI, run alternately (ABBA...) against the same
// app and load, so a change is judged by a ratio measured side by side in one run.
//   node bench/ab.ts --before ../old/packages/core/bin/clusterize.js --after packages/core/bin/clusterize.js
// Options: --rounds N (default 4), --seconds S (default 3), --policies shared,round-robin.
// Runs one load at a time; on a shared machine wrap it in `flock /tmp/clusterize-load.lock`.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { measureLoad } from './load.ts';
import { table } from './report.ts';

const { values } = parseArgs({
  options: {
    before: { type: 'string' }, after: { type: 'string' },
    rounds: { type: 'string', default: '4' }, seconds: { type: 'string', default: '3' },
    policies: { type: 'string', default: 'shared,round-robin' },
  },
});
if (values.before === undefined || values.after === undefined) throw new Error('--before and --after name the two CLIs to compare');
const builds = { before: values.before, after: values.after };
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const app = fileURLToPath(new URL('./apps/http.ts', import.meta.url));
const loads = [{ name: 'churn', churn: true, connections: 20 }, { name: 'keep-alive', churn: false, connections: 50 }];
const results = new Map<string, number[]>();

async function once(build: keyof typeof builds, policy: string, load: (typeof loads)[number]): Promise<void> {
  const child = spawn(process.execPath, [builds[build], '--workers', '2', '--policy', policy, app], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "ready on" line in 20 s:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /ready on \S*:(\d+)/.exec(output);
      if (match !== null) { clearTimeout(timer); resolve(Number(match[1])); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
  const measured = await measureLoad({ port, connections: load.connections, seconds, churn: load.churn, pidFrom: 'header' });
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  const key = `${policy}|${load.name}|${build}`;
  results.set(key, [...(results.get(key) ?? []), measured.requestsPerSecond]);
  process.stderr.write(`${key}: ${Math.round(measured.requestsPerSecond)} req/s, ${measured.errors} errors\n`);
}

for (let round = 0; round < rounds; round++) {
  for (const policy of values.policies.split(',')) {
    for (const load of loads) {
      const order: (keyof typeof builds)[] = round % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
      for (const build of order) await once(build, policy, load);
    }
  }
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return (sorted[Math.floor((sorted.length - 1) / 2)]! + sorted[Math.ceil((sorted.length - 1) / 2)]!) / 2;
};
const rows = values.policies.split(',').flatMap((policy) => loads.map(({ name }) => {
  const before = results.get(`${policy}|${name}|before`)!;
  const after = results.get(`${policy}|${name}|after`)!;
  const span = (xs: number[]) => `${Math.round(Math.min(...xs))}-${Math.round(Math.max(...xs))}`;
  return [policy, name, String(Math.round(median(before))), String(Math.round(median(after))), `${(median(after) / median(before)).toFixed(2)}x`, span(before), span(after)];
}));
console.log(table(['policy', 'load', 'before (median req/s)', 'after', 'after/before', 'before range', 'after range'], rows));
