// The proxy pool bench (issue 14): how a pool of keep-alive connections opened together
// falls over 2 workers, straight from a client and through a real HAProxy, and how the
// requests fall after a rolling reload. `npm run bench:pool`, or
// `node bench/pool.ts [--reps N] [--contenders a,b] [--modes direct,haproxy,reload]`.
// Prints Markdown tables and writes bench/results/pool-*.json. Runs one load at a time; on a
// shared machine wrap it in `flock /tmp/clusterize-load.lock`.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { contenders, type Server } from './contenders/index.ts';
import { describeMachine } from './machine.ts';
import { afterReload } from './pool/after-reload.ts';
import { poolRun, type PoolMode } from './pool/repetitions.ts';
import { renderPoolTables, summarize, writePoolResults, type PoolResult, type ReloadResult, type Settings } from './pool/report.ts';

const MODES = ['direct', 'haproxy', 'reload'] as const;
type Mode = (typeof MODES)[number];
const POOL_MODES: readonly PoolMode[] = ['direct', 'haproxy'];
/** Whatever happens, the bench ends: the full run takes about 6 minutes. */
const DEADLINE_MS = 22 * 60_000;
const WARMUP_SECONDS = 1;
const APP = fileURLToPath(new URL('./apps/http.ts', import.meta.url));

/**
 * node:cluster both ways and every clusterize policy but sticky, which hashes the client's
 * address: from one address it serves everything from one worker. Not the PROXY protocol
 * contenders: autocannon sends the header here, HAProxy would not.
 */
const candidates = contenders.filter((c) => c.id.startsWith('node-cluster-')
  || (c.id.startsWith('clusterize-') && c.id !== 'clusterize-sticky' && c.proxyProtocol !== true));
/** clusterize's rolling reload (SIGHUP) is the one issue 14 is about. */
const reloadable = (id: string) => id.startsWith('clusterize-');

const { values } = parseArgs({ options: { reps: { type: 'string' }, contenders: { type: 'string' }, modes: { type: 'string' } } });
const settings: Settings = { reps: Number(values.reps ?? 10), connections: 20, seconds: 2, workers: 2, windows: 10, even: 1.3 };
if (!(Number.isInteger(settings.reps) && settings.reps >= 1)) throw new Error('--reps takes a whole number >= 1');
const ids = values.contenders?.split(',') ?? candidates.map((c) => c.id);
const unknown = ids.filter((id) => !candidates.some((c) => c.id === id));
if (unknown.length > 0) throw new Error(`--contenders: ${unknown.join(', ')} not among ${candidates.map((c) => c.id).join(', ')}`);
const chosen = candidates.filter((c) => ids.includes(c.id));
const modes = (values.modes?.split(',') ?? [...MODES]) as Mode[];
if (modes.some((mode) => !MODES.includes(mode))) throw new Error(`--modes takes some of ${MODES.join(', ')}`);

setTimeout(() => {
  console.error(`bench:pool: still running after ${DEADLINE_MS / 60_000} minutes; giving up`);
  process.exit(1);
}, DEADLINE_MS).unref();

const command = process.env.npm_lifecycle_event ? `npm run ${process.env.npm_lifecycle_event}` : `node bench/pool.ts ${process.argv.slice(2).join(' ')}`.trim();
const startedAt = new Date().toISOString();
const log = (line: string) => process.stderr.write(`${line}\n`);
const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
const ratio = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : 'inf');

/** Every chosen mode on one start of the contender: the pools, then the reload. */
async function measure(server: Server, name: string, mine: readonly PoolResult[], reload: ReloadResult | null): Promise<void> {
  await poolRun(server, 'direct', { ...settings, seconds: WARMUP_SECONDS });
  for (const result of mine) {
    try {
      for (let rep = 1; rep <= settings.reps; rep++) {
        const run = await poolRun(server, result.mode, settings);
        result.runs.push(run);
        log(`${result.mode} ${name} run ${rep}/${settings.reps}: connections max/min ${ratio(run.ratios.connections)}, requests ${ratio(run.ratios.requests)}, ${run.errors} errors`);
      }
    } catch (error) {
      result.problem = firstLine(error);
    }
    result.summary = summarize(result.runs, settings.even);
  }
  if (reload === null) return;
  try {
    reload.measured = await afterReload(server, settings, settings.windows);
    log(`reload ${name}: requests max/min each second ${reload.measured.windows.map((window) => ratio(window.ratios.requests)).join(' ')}`);
  } catch (error) {
    reload.problem = firstLine(error);
  }
}

const pools: PoolResult[] = [];
const reloads: ReloadResult[] = [];
for (const contender of chosen) {
  const { id: name, label } = contender;
  const mine = POOL_MODES.filter((mode) => modes.includes(mode)).map((mode): PoolResult => ({
    contender: name, label, mode, runs: [], summary: summarize([], settings.even), problem: null,
  }));
  const reload: ReloadResult | null = modes.includes('reload') && reloadable(name) ? { contender: name, label, measured: null, problem: null } : null;
  const results: { problem: string | null }[] = [...mine, ...(reload === null ? [] : [reload])];
  if (results.length === 0) continue;
  pools.push(...mine);
  if (reload !== null) reloads.push(reload);
  let server: Server | undefined;
  try {
    server = await contender.start(APP, settings.workers);
    await measure(server, name, mine, reload);
  } catch (error) {
    // Only the start and the warm-up get here: measure() keeps each mode's problem with it.
    for (const result of results) result.problem ??= `before the first run: ${firstLine(error)}`;
  }
  const stopProblem = await server?.stop();
  if (stopProblem) results.at(-1)!.problem = [results.at(-1)!.problem, `stop: ${stopProblem}`].filter(Boolean).join('; ');
}

const bench = { command, startedAt, finishedAt: new Date().toISOString(), machine: describeMachine(), settings, pools, reloads };
process.stdout.write(renderPoolTables(bench));
for (const path of writePoolResults(bench)) log(`wrote ${path}`);
const failed = [...pools.filter((p) => p.runs.length === 0).map((p) => `${p.mode}/${p.contender}`), ...reloads.filter((r) => r.measured === null).map((r) => `reload/${r.contender}`)];
if (failed.length > 0) {
  log(`bench:pool: no measurement at all for ${failed.join(', ')}`);
  process.exitCode = 1;
}
process.exit();
