// Workers that work together without node:cluster: publish/subscribe and request/handle on
// clusterize's own channel, and lead() for run-once work, with 2 real workers, under
// crashes, SIGSTOP, reloads, scale-downs and shutdowns. The app is
// fixtures/together/app.mjs; its primary half (handlers, a subscriber) fixtures/together/handlers.mjs.
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { overlaps, readLeadLog } from './lead-log.ts';
import { descendants, fixture, isAlive, run, startCli, startPrimary, until, within, type Running, type Started } from './helpers.ts';

interface Answer {
  pid: number;
  id: number;
  slot: number;
  reply?: unknown;
  error?: { code: string; name: string; message: string; cause?: { name: string; message: string; code?: string } };
}

/** A client on one keep-alive connection, so every request reaches the same worker. */
interface Client {
  get(path: string): Promise<Answer>;
  readonly worker: Answer;
  close(): void;
}

async function connect(port: number): Promise<Client> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path: string) => new Promise<Answer>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => resolve(JSON.parse(body) as Answer));
    }).on('error', reject);
  });
  const worker = await get('/');
  return { get, worker, close: () => agent.destroy() };
}

/**
 * One client on each of `count` different workers, none in `except` (round-robin spreads new
 * connections); asks for up to 10 s, while replacements start.
 */
async function clients(port: number, count = 2, except: ReadonlySet<number> = new Set()): Promise<Client[]> {
  const found = new Map<number, Client>();
  const deadline = Date.now() + 10_000;
  while (found.size < count) {
    if (Date.now() > deadline) throw new Error(`only ${found.size} of ${count} workers answered`);
    const client = await connect(port);
    if (found.has(client.worker.pid) || except.has(client.worker.pid)) client.close();
    else found.set(client.worker.pid, client);
  }
  open.push(...found.values());
  return [...found.values()];
}

const q = (value: unknown) => encodeURIComponent(JSON.stringify(value));
const publish = (client: Client, data: unknown) => client.get(`/publish?data=${q(data)}`);
const ask = (client: Client, name: string, payload?: unknown, timeout?: number) =>
  client.get(`/request?name=${name}${payload === undefined ? '' : `&payload=${q(payload)}`}${timeout === undefined ? '' : `&timeout=${timeout}`}`);

/** The notes worker `id` printed it got, in order: `{ data, from }`. */
function notesOf(proc: Running, id: number): { data: unknown; from: string }[] {
  return [...proc.output().matchAll(new RegExp(`^got note (.+) from (\\w+) in ${id}$`, 'gm'))].map(([, data, from]) => ({ data: JSON.parse(data!), from: from! }));
}

const HANDLERS = fixture('together/handlers.mjs');
const cli = (args: string[] = [], env: Record<string, string> = {}) =>
  startCli('together/app.mjs', ['--workers', '2', '--policy', 'round-robin', '--primary-module', HANDLERS, ...args], env);
/** An API primary (fixtures/primary.mjs): SIGHUP reloads, SIGWINCH scales to 1, SIGUSR2 shuts down. */
const api = (options: Record<string, unknown> = {}, env: Record<string, string> = {}) =>
  startPrimary('together/app.mjs', { workers: 2, policy: 'round-robin', primaryModules: [HANDLERS], ...options }, { SCALE_TO: '1', ...env });

let cluster: Started | undefined;
let open: Client[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const client of open) client.close();
  open = [];
  await cluster?.close();
  cluster = undefined;
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function leadLog(): string {
  const dir = mkdtempSync(join(tmpdir(), 'clusterize-lead-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'lead.log');
}

describe('publish and subscribe', () => {
  it('reach every worker, the sender included, in one order, under the CLI with no code in the primary', async () => {
    cluster = await startCli('together/app.mjs', ['--workers', '2', '--policy', 'round-robin']);
    const [a, b] = await clients(cluster.port);
    for (let n = 1; n <= 10; n++) await publish(n % 2 === 1 ? a! : b!, { n });
    const ids = [a!.worker.id, b!.worker.id];
    await until(() => ids.every((id) => notesOf(cluster!, id).length === 10), 5_000, 'both workers getting 10 notes');
    const expected = Array.from({ length: 10 }, (_, i) => ({ data: { n: i + 1 }, from: String(ids[i % 2]) }));
    for (const id of ids) expect(notesOf(cluster, id)).toEqual(expected);
  });

  it("reach the primary's subscribers, and cluster.publish() reaches every worker", async () => {
    cluster = await cli();
    const [a, b] = await clients(cluster.port);
    await publish(a!, 'from a');
    await cluster.waitFor(new RegExp(`^primary got note "from a" from ${a!.worker.id}$`, 'm'));
    expect(await ask(b!, 'announce', 'from the primary')).toMatchObject({ reply: 'published' });
    for (const client of [a!, b!]) await cluster.waitFor(new RegExp(`^got note "from the primary" from primary in ${client.worker.id}$`, 'm'));
    // The app's own process.send() channel carried none of it.
    expect(cluster.output()).not.toMatch(/NODE_CLUSTERIZE/);
  });
});

describe('request and handle', () => {
  it('answer with the handler\'s reply; each failure is a coded error', async () => {
    cluster = await cli(['--max-message-size', '1']);
    const [a, b] = await clients(cluster.port);
    // One handler, one state, for every worker.
    expect(await ask(a!, 'add', 2)).toMatchObject({ reply: { count: 2, worker: a!.worker.id } });
    expect(await ask(b!, 'add', 3)).toMatchObject({ reply: { count: 5, worker: b!.worker.id } });

    expect((await ask(a!, 'fail')).error).toEqual({
      code: 'ERR_CLUSTERIZE_HANDLER_FAILED', name: 'Error',
      message: "Request handler failed: request('fail'): the primary's handler threw: RangeError: out of stock",
      cause: { name: 'RangeError', message: 'out of stock', code: 'E_STOCK' },
    });
    expect((await ask(a!, 'nope')).error).toMatchObject({ code: 'ERR_CLUSTERIZE_NO_HANDLER', message: expect.stringContaining("cluster.handle('nope'") });
    const asked = Date.now();
    expect((await ask(a!, 'never', undefined, 300)).error).toMatchObject({ code: 'ERR_CLUSTERIZE_REQUEST_TIMEOUT', message: expect.stringContaining('within 300 ms') });
    expect(Date.now() - asked).toBeLessThan(2_000);
    // Too large or not JSON: refused where it is made, the reply's too.
    expect((await a!.get(`/request?name=add&size=${1024 * 1024}`)).error).toMatchObject({ code: 'ERR_CLUSTERIZE_MESSAGE_TOO_LARGE', name: 'RangeError', message: expect.stringContaining('the limit is 1048576 bytes (maxMessageSize)') });
    expect((await ask(a!, 'huge', 2)).error).toMatchObject({ code: 'ERR_CLUSTERIZE_MESSAGE_TOO_LARGE', message: expect.stringContaining("the handler's reply was not sent") });
    expect((await ask(a!, 'bigint')).error).toMatchObject({ code: 'ERR_CLUSTERIZE_NOT_JSON', message: expect.stringContaining('BigInt') });
    expect((await a!.get('/publish-bigint')).error).toMatchObject({ code: 'ERR_CLUSTERIZE_NOT_JSON', name: 'TypeError' });
    // None of it hurt the channel.
    expect(await ask(a!, 'add', 1)).toMatchObject({ reply: { count: 6 } });
  });
});

describe('messaging under faults', () => {
  it('a SIGSTOPped or crashed worker holds nobody up; its replacement hears everything from then on', async () => {
    cluster = await cli(['--heartbeat-timeout', '1000']);
    const [stopped, b] = await clients(cluster.port);
    process.kill(stopped!.worker.pid, 'SIGSTOP');
    cleanups.push(() => isAlive(stopped!.worker.pid) && process.kill(stopped!.worker.pid, 'SIGKILL'));
    const started = Date.now();
    await publish(b!, 'while one is stopped');
    expect(await ask(b!, 'add', 1)).toMatchObject({ reply: { count: 1 } });
    await cluster.waitFor(new RegExp(`^got note "while one is stopped" from ${b!.worker.id} in ${b!.worker.id}$`, 'm'));
    await cluster.waitFor(/^primary got note "while one is stopped"/m);
    expect(Date.now() - started).toBeLessThan(1_000);

    // Found hung, replaced and killed; then B crashes too while it waits for a slow reply.
    await until(() => !isAlive(stopped!.worker.pid), 10_000, 'the stopped worker being killed');
    const slow = ask(b!, 'slow', 300).catch((error: unknown) => error);
    process.kill(b!.worker.pid, 'SIGKILL');
    expect(await slow).toBeInstanceOf(Error);
    const [c, d] = await clients(cluster.port, 2, new Set([stopped!.worker.pid, b!.worker.pid]));
    await publish(c!, 'after the faults');
    for (const client of [c!, d!]) await cluster.waitFor(new RegExp(`^got note "after the faults" from ${c!.worker.id} in ${client.worker.id}$`, 'm'));
    expect(await ask(d!, 'add', 1)).toMatchObject({ reply: { count: 2 } });
  });

  it('a worker that drains (reload, scale-down, shutdown) still gets its replies; new workers get publishes', async () => {
    cluster = await api();
    const [a, b] = await clients(cluster.port);
    // A reload drains both old workers: each still gets the reply it waits for.
    const replies = [ask(a!, 'slow', 800), ask(b!, 'slow', 800)];
    cluster.child.kill('SIGHUP');
    for (const answer of await Promise.all(replies)) expect(answer).toMatchObject({ reply: 'waited 800 ms' });
    await cluster.waitFor(/reload complete|workers? ready/);
    await until(() => !isAlive(a!.worker.pid) && !isAlive(b!.worker.pid), 10_000, 'the old workers exiting');
    const [c, d] = await clients(cluster.port, 2, new Set([a!.worker.pid, b!.worker.pid]));
    await publish(c!, 'after the reload');
    for (const client of [c!, d!]) await cluster.waitFor(new RegExp(`^got note "after the reload" from ${c!.worker.id} in ${client.worker.id}$`, 'm'));

    // A scale-down to 1 drains the highest slot: its pending request is answered too.
    const leaving = c!.worker.slot === 1 ? c! : d!;
    const staying = leaving === c ? d! : c!;
    const reply = ask(leaving, 'slow', 500);
    cluster.child.kill('SIGWINCH');
    expect(await reply).toMatchObject({ reply: 'waited 500 ms' });
    await cluster.waitFor(/api: scaled to 1/);
    await publish(staying, 'after the scale-down');
    await cluster.waitFor(new RegExp(`^got note "after the scale-down" from ${staying.worker.id} in ${staying.worker.id}$`, 'm'));

    // A shutdown drains the last one: its request is answered before the primary exits.
    const last = ask(staying, 'slow', 500);
    cluster.child.kill('SIGUSR2');
    expect(await last).toMatchObject({ reply: 'waited 500 ms' });
    await cluster.waitFor(/api: shutdown \{"cutConnections":0,"killedWorkers":0,"clean":true\}/);
  });

  it('the primary gone: a waiting request rejects with ERR_CLUSTERIZE_PRIMARY_GONE, and the workers exit', async () => {
    cluster = await cli();
    const [a] = await clients(cluster.port, 1);
    const workers = descendants(cluster.child.pid!);
    cleanups.push(() => workers.filter(isAlive).forEach((pid) => process.kill(pid, 'SIGKILL')));
    const waiting = ask(a!, 'never', undefined, 60_000);
    await cluster.waitFor(/^primary: asked 'never'$/m);
    cluster.child.kill('SIGKILL');
    expect((await within(waiting, 5_000, 'the request failing')).error).toMatchObject({
      code: 'ERR_CLUSTERIZE_PRIMARY_GONE', message: "Primary gone: request('never'): this worker has lost its primary",
    });
    await until(() => workers.every((pid) => !isAlive(pid)), 10_000, 'the orphaned workers exiting');
  });
});

describe('lead()', () => {
  const leads = (proc: Running) => [...proc.output().matchAll(/^worker (\d+) \(pid (\d+)\) leads, term (\d+), isLeader true$/gm)].map(([, id, pid, term]) => ({ id: Number(id), pid: Number(pid), term: Number(term) }));

  it('one worker leads; a crashed leader\'s successor starts within 1 s of its exit; a shutdown aborts the job, which settles first', async () => {
    const log = leadLog();
    cluster = await cli([], { LEAD_LOG: log });
    await until(() => leads(cluster!).length === 1, 5_000, 'a leader');
    const [first] = leads(cluster);
    expect(first!.term).toBe(1);
    // The other worker runs too, and waits.
    await until(() => readLeadLog(log)[0]!.ticks >= 5, 5_000, 'five ticks');
    expect(leads(cluster)).toHaveLength(1);

    const killedAt = Date.now();
    process.kill(first!.pid, 'SIGKILL');
    await until(() => leads(cluster!).length === 2, 5_000, 'a second leader');
    expect(Date.now() - killedAt).toBeLessThan(1_000);
    const second = leads(cluster)[1]!;
    expect(second).toMatchObject({ term: 2 });
    expect(second.pid).not.toBe(first!.pid);
    // Its replacement, once ready, does not take over: one leader at a time, no churn.
    await cluster.waitFor(/workers? ready|starting a replacement/);
    await until(() => readLeadLog(log).at(-1)!.ticks >= 5, 5_000, 'five ticks of term 2');
    expect(leads(cluster)).toHaveLength(2);

    expect(await cluster.close()).toMatchObject({ code: 0 });
    expect(cluster.output()).toMatch(new RegExp(`^worker \\d+ \\(pid ${second.pid}\\) stops leading, term 2, isLeader false: this worker stops leading 'default': it drains$`, 'm'));
    const terms = readLeadLog(log);
    expect(terms.map(({ term, pids, settled }) => ({ term, pids, settled }))).toEqual([
      { term: 1, pids: [first!.pid], settled: false },
      { term: 2, pids: [second.pid], settled: true },
    ]);
    expect(overlaps(terms)).toEqual([]);
  });

  it('a SIGSTOPped leader is replaced once the supervisor has killed it, never before', async () => {
    const log = leadLog();
    cluster = await cli(['--heartbeat-timeout', '1000'], { LEAD_LOG: log });
    await until(() => leads(cluster!).length === 1, 5_000, 'a leader');
    const [first] = leads(cluster);
    process.kill(first!.pid, 'SIGSTOP');
    cleanups.push(() => isAlive(first!.pid) && process.kill(first!.pid, 'SIGKILL'));
    let aliveWhenNext: boolean | undefined;
    await until(() => {
      if (leads(cluster!).length < 2) return false;
      aliveWhenNext = isAlive(first!.pid);
      return true;
    }, 10_000, 'a second leader');
    expect(aliveWhenNext).toBe(false);
    expect(cluster.output()).toMatch(new RegExp(`worker ${first!.id} \\(pid ${first!.pid}\\) has not answered a heartbeat`));
    expect(overlaps(readLeadLog(log))).toEqual([]);
  });

  it('a reload and a scale-down abort the leader\'s job; the next starts only once it has settled', async () => {
    const log = leadLog();
    // Only slot 1 runs for leader, so the scale-down (which drains the highest slot) reaches it.
    cluster = await api({}, { LEAD_LOG: log, LEAD_SLOTS: '1' });
    await until(() => leads(cluster!).length === 1, 5_000, 'a leader');
    cluster.child.kill('SIGHUP');
    await until(() => leads(cluster!).length === 2, 10_000, 'a leader of the new release');
    const [old, current] = leads(cluster);
    expect(cluster.output()).toMatch(new RegExp(`^worker ${old!.id} \\(pid ${old!.pid}\\) stops leading, term 1, isLeader false: this worker stops leading 'default': it drains$`, 'm'));
    expect(current).toMatchObject({ term: 2 });

    cluster.child.kill('SIGWINCH');
    await cluster.waitFor(/api: scaled to 1/);
    await cluster.waitFor(new RegExp(`^worker ${current!.id} \\(pid ${current!.pid}\\) stops leading, term 2`, 'm'));
    // Slot 0 does not run: nobody leads, and nothing ran at once.
    expect(leads(cluster)).toHaveLength(2);
    const terms = readLeadLog(log);
    expect(terms.map(({ term, settled }) => ({ term, settled }))).toEqual([{ term: 1, settled: true }, { term: 2, settled: true }]);
    expect(overlaps(terms)).toEqual([]);
  });

  it('never runs in two workers at once through 12 s of crashes, SIGSTOPs, reloads, scale-downs, SIGTERMs and a shutdown', async () => {
    const log = leadLog();
    const bench = run([fileURLToPath(new URL('../bench/lead-faults.ts', import.meta.url)), '--seconds', '12', '--log', log]);
    const { code } = await within(bench.exited, 50_000, 'the fault run');
    expect(bench.output()).toMatch(/^verdict: no two leaders ever ran at once$/m);
    expect(code).toBe(0);
    const faults = new Set([...bench.output().matchAll(/^fault \d+: (\S+) of the leader/gm)].map(([, fault]) => fault));
    for (const fault of ['crash', 'sigstop', 'reload', 'sigterm']) expect(faults).toContain(fault);
    const terms = readLeadLog(log);
    expect(terms.length).toBeGreaterThanOrEqual(6);
    expect(overlaps(terms)).toEqual([]);
    // The shutdown ended the last term: its job settled.
    expect(terms.at(-1)!.settled).toBe(true);
  }, 60_000);
});
