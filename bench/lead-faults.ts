// lead() under faults: `npm run bench:lead-faults` (60 s) or `-- --seconds N --log FILE`.
// This process is the primary of a 2-worker cluster (test/fixtures/together/app.mjs) whose
// lead() job appends (pid, term, start, end) every 100 ms to a log. In turn it crashes the
// leader (SIGKILL), stops it (SIGSTOP: the heartbeat finds it hung and it is killed),
// reloads, scales down to 1 and up again, and sends the leader SIGTERM; in a run of 30 s or
// more workers are also recycled at maxAge (8 s). Then it shuts down and reads the log: two terms that ran at once are
// an overlap. Prints each fault with the handoff it caused (from the last leader's job
// settling, or its process exiting, to the next one's start), a verdict, and exits 1 on an
// overlap or a fault after which no leader came.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createCluster, type ClusterWorker } from '@clusterize/core';
import { overlaps, readLeadLog, type Term } from '../test/lead-log.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, log: { type: 'string' } } });
const seconds = Number(values.seconds);
if (!(seconds > 0)) throw new Error(`--seconds takes a number above 0, got ${values.seconds}`);
const dir = values.log === undefined ? mkdtempSync(join(tmpdir(), 'clusterize-lead-')) : undefined;
const log = values.log ?? join(dir!, 'lead.log');
/** Longest wait for a new leader after a fault: a SIGSTOP takes the heartbeat timeout, a replacement and a kill. */
const NEW_LEADER_MS = 15_000;

setTimeout(() => {
  console.error(`bench:lead-faults: still running ${seconds + 60} s after it started; giving up`);
  process.exit(1);
}, (seconds + 60) * 1000).unref();

const cluster = createCluster({
  script: fileURLToPath(new URL('../test/fixtures/together/app.mjs', import.meta.url)),
  workers: 2, heartbeatTimeout: 1000, shutdownTimeout: 3000, maxAge: seconds >= 30 ? 8000 : 0, signals: false,
  env: { LEAD_LOG: log },
  log: (line) => (/ leads |hung|maxAge/.test(line) ? console.error(line) : undefined),
});

const exits = new Map<number, number>();
cluster.on('exit', (worker) => exits.set(worker.pid!, Date.now()));
let leader: { worker: ClusterWorker; term: number } | undefined;
cluster.on('lead', (worker, term) => { leader = { worker, term }; });
let recycledLeaders = 0;
cluster.on('recycle', (worker, reason) => {
  if (reason.kind === 'age' && worker.id === cluster.leader()?.id) recycledLeaders++;
});
await cluster.start();

/** Both workers serve, and one leads: the state each fault starts from. */
async function steady(): Promise<boolean> {
  const deadline = Date.now() + NEW_LEADER_MS;
  while (cluster.workers.filter((worker) => worker.state === 'ready').length < 2 || cluster.leader() === undefined) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

async function nextLeader(after: number): Promise<boolean> {
  const deadline = Date.now() + NEW_LEADER_MS;
  while ((leader?.term ?? 0) <= after || cluster.leader()?.id !== leader?.worker.id) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

type Fault = 'crash' | 'scale-down' | 'sigstop' | 'reload' | 'sigterm';
const faults: Fault[] = ['crash', 'scale-down', 'sigstop', 'reload', 'sigterm'];
const done: { fault: Fault; hit: boolean; from: number; to: number | undefined }[] = [];
let problem: string | undefined;
if (!(await nextLeader(0))) problem = 'no worker ever led';
const until = Date.now() + seconds * 1000;
for (let i = 0; problem === undefined && Date.now() < until; i++) {
  if (!(await steady())) {
    problem = `the cluster was not back to 2 serving workers and a leader within ${NEW_LEADER_MS} ms`;
    break;
  }
  const fault = faults[i % faults.length]!;
  const { worker, term } = leader!;
  if (fault === 'crash') process.kill(worker.pid!, 'SIGKILL');
  if (fault === 'sigstop') process.kill(worker.pid!, 'SIGSTOP');
  if (fault === 'sigterm') process.kill(worker.pid!, 'SIGTERM');
  if (fault === 'reload') await cluster.reload();
  if (fault === 'scale-down') await cluster.scale(1);
  // A scale-down retires the highest slot: the leader only when it holds that one.
  const hit = fault !== 'scale-down' || !cluster.workers.some((w) => w.id === worker.id);
  if (fault === 'scale-down') await cluster.scale(2);
  if (hit && !(await nextLeader(term))) problem = `no new leader within ${NEW_LEADER_MS} ms of ${fault} (term ${term})`;
  done.push({ fault, hit, from: term, to: hit ? leader?.term : undefined });
  console.error(`fault ${i + 1}: ${fault} ${hit ? `of the leader, worker ${worker.id} (term ${term}); worker ${leader?.worker.id} leads, term ${leader?.term}` : `(the leader, worker ${worker.id}, stays)`}`);
}
const report = await cluster.shutdown();

const terms = readLeadLog(log);
const found = overlaps(terms);
const byTerm = new Map(terms.map((term) => [term.term, term]));
/** From the last leader's job settling (or its process exiting) to the next one's start. */
const handoff = (from: Term, to: Term) => to.start - (from.settled ? from.end : Math.min(exits.get(from.pids[0]!) ?? from.end, to.start));
console.log(`| fault | times | of the leader | handoff ms (median / max) |`);
console.log(`| --- | --- | --- | --- |`);
for (const fault of faults) {
  const runs = done.filter((run) => run.fault === fault);
  const gaps = runs.flatMap((run) => {
    const from = byTerm.get(run.from);
    const to = run.to === undefined ? undefined : byTerm.get(run.to);
    return from === undefined || to === undefined ? [] : [handoff(from, to)];
  }).sort((a, b) => a - b);
  const median = gaps.length === 0 ? '-' : String(gaps[Math.floor(gaps.length / 2)]);
  console.log(`| ${fault} | ${runs.length} | ${runs.filter((run) => run.hit).length} | ${median} / ${gaps.at(-1) ?? '-'} |`);
}
const ticks = terms.reduce((sum, term) => sum + term.ticks, 0);
console.log(`${done.length} faults in ${seconds} s (and ${recycledLeaders} leaders recycled at maxAge), ${terms.length} terms, ${ticks} ticks, shutdown ${report.clean ? 'clean' : 'not clean'}; overlaps: ${found.length}`);
for (const line of found) console.log(`OVERLAP: ${line}`);
if (problem !== undefined) console.log(`PROBLEM: ${problem}`);
const verdict = found.length === 0 && problem === undefined;
console.log(verdict ? 'verdict: no two leaders ever ran at once' : 'verdict: FAILED');
if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
process.exitCode = verdict ? 0 : 1;
