// Operating a running cluster from another shell: `clusterize ls`, `status`, `reload`,
// `scale`, `stop` and `logs`, each run as a second process against a cluster the CLI (or
// the API) started, over its control socket. test/setup.ts gives every test a fresh
// XDG_RUNTIME_DIR, so each sees only the clusters it started.
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, fixture, request, run, startCli, startPrimary, until, within, type Running, type Started } from './helpers.ts';
import { keepAliveLoadWhile } from './load.ts';

const APP = 'control-app.mjs';
const started: Running[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((proc) => proc.close()));
});

const runtimeDir = () => join(process.env.XDG_RUNTIME_DIR!, 'clusterize');
const socketOf = (name: string) => join(runtimeDir(), `${name}.sock`);

async function start(args: string[] = []): Promise<Started> {
  const proc = await startCli(APP, ['--workers', '2', ...args]);
  started.push(proc);
  return proc;
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `clusterize <args>` to its end, as an operator in another shell would. */
function clusterize(args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

/** What `clusterize status --json` says of the cluster. */
async function statusOf(...name: string[]): Promise<{ name: string; pid: number; target: number; reloads: number; workers: { pid: number; state: string }[] }> {
  const { code, stdout, stderr } = await clusterize(['status', ...name, '--json']);
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout) as Awaited<ReturnType<typeof statusOf>>;
}

const coded = (code: string) => new RegExp(`^clusterize: [^\\n]+ \\[ERR_CLUSTERIZE_${code}\\]$`, 'm');

describe('status and ls', () => {
  it("status prints the cluster's line and its worker table; --json has the same; the name is the script's", async () => {
    const cluster = await start();
    const { code, stdout } = await clusterize(['status']);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^control-app \\(pid ${cluster.child.pid}\\): 2 of 2 workers ready, policy shared, up \\d+s, 0 reloads\\n`));
    expect(stdout).toMatch(/^id +slot +pid +state +uptime +rss +loop delay +connections$/m);
    const json = await statusOf();
    expect(json).toMatchObject({ name: 'control-app', pid: cluster.child.pid, target: 2, reloads: 0 });
    expect(json.workers.map((worker) => worker.state)).toEqual(['ready', 'ready']);
    for (const { pid } of json.workers) expect(stdout).toMatch(new RegExp(`^\\d+ +\\d +${pid} +ready `, 'm'));
    // Only its user may use the socket, in a folder only its user may enter.
    expect(lstatSync(socketOf('control-app')).mode & 0o777).toBe(0o600);
    expect(lstatSync(runtimeDir()).mode & 0o777).toBe(0o700);
  });

  it('ls lists two clusters with their pids; a command without a name then names both and exits 1', async () => {
    const [alpha, beta] = await Promise.all([start(['--name', 'alpha']), start(['--name', 'beta', '--policy', 'round-robin'])]);
    const ls = await clusterize(['ls']);
    expect(ls.code).toBe(0);
    const lines = ls.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^name +pid +workers +policy +uptime +reloads$/);
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(new RegExp(`^alpha +${alpha.child.pid} +2/2 +shared +\\d+s +0$`)),
      expect.stringMatching(new RegExp(`^beta +${beta.child.pid} +2/2 +round-robin +\\d+s +0$`)),
    ]);
    const json = JSON.parse((await clusterize(['ls', '--json'])).stdout) as { name: string; pid: number }[];
    expect(json.map(({ name, pid }) => ({ name, pid }))).toEqual([{ name: 'alpha', pid: alpha.child.pid }, { name: 'beta', pid: beta.child.pid }]);
    const unnamed = await clusterize(['reload']);
    expect(unnamed.code).toBe(1);
    expect(unnamed.stderr).toMatch(coded('NAME_NEEDED'));
    expect(unnamed.stderr).toContain('2 clusters are running (alpha, beta): name one (clusterize reload NAME)');
    expect((await statusOf('beta')).pid).toBe(beta.child.pid);
  });
});

describe('reload, scale and stop', () => {
  it('reload under keep-alive load: no request fails, every worker is replaced, exit 0 once done', async () => {
    const cluster = await start();
    const before = (await statusOf()).workers.map((worker) => worker.pid);
    const reloaded = clusterize(['reload']);
    const load = await keepAliveLoadWhile(cluster.port, reloaded, { connections: 10, maxSeconds: 30 });
    const { code, stdout, stderr } = await reloaded;
    console.log(`control: clusterize reload under keep-alive load: ${load.requests} requests, ${load.errors} errors, ${load.non2xx} non-2xx, ${load.timeouts} timeouts; ${stdout.trim()}`);
    expect(code, stderr).toBe(0);
    expect(stderr).toContain(`clusterize: reloading control-app (pid ${cluster.child.pid}): replacing its 2 workers`);
    expect(stdout).toMatch(/^clusterize: control-app reloaded: 2 workers of the new release serve \(\d+\.\d s\)\n$/);
    expect(load.requests).toBeGreaterThan(100);
    expect({ errors: load.errors, non2xx: load.non2xx, timeouts: load.timeouts }).toEqual({ errors: 0, non2xx: 0, timeouts: 0 });
    const after = await statusOf();
    expect(after.reloads).toBe(1);
    expect(after.workers.map((worker) => worker.pid).filter((pid) => before.includes(pid))).toEqual([]);
    expect(cluster.output()).toContain('clusterize: clusterize reload received; reloading workers one by one');
  });

  it('scale 3, then scale NAME 1: exit 0 once that many serve', async () => {
    const cluster = await start(['--name', 'web']);
    const up = await clusterize(['scale', '3']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toBe('clusterize: web runs 3 workers\n');
    expect((await statusOf()).workers.map((worker) => worker.state)).toEqual(['ready', 'ready', 'ready']);
    const down = await clusterize(['scale', 'web', '1']);
    expect(down.code, down.stderr).toBe(0);
    expect(await statusOf('web')).toMatchObject({ target: 1, workers: [{ state: 'ready' }] });
    expect(cluster.output()).toContain('clusterize: clusterize scale received; scaling from 3 to 1 worker');
  });

  it('a reload the cluster cannot do (it is stopping) exits 1 with the cause', async () => {
    const cluster = await start(['--shutdown-delay', '3000']);
    cluster.child.kill('SIGTERM');
    await cluster.waitFor(/SIGTERM received; \/readyz answers 503/);
    const { code, stderr } = await clusterize(['reload']);
    expect(code).toBe(1);
    expect(stderr).toMatch(coded('NOT_RUNNING'));
    expect(stderr).toContain('reload() was called while the cluster is stopping');
  });

  it('stop drains as SIGTERM does: the request in flight is answered, the primary exits 0, and so does stop', async () => {
    const cluster = await start();
    const slow = request(cluster.port, '/slow?ms=1000');
    await cluster.waitFor(/^slow request \d+$/m);
    const { code, stdout, stderr } = await clusterize(['stop']);
    expect(code, stderr).toBe(0);
    expect(stdout).toBe('clusterize: control-app stopped: every worker finished its requests\n');
    expect((await slow).status).toBe(200);
    expect(await within(cluster.exited, 5_000, 'the primary exiting')).toEqual({ code: 0, signal: null });
    expect(cluster.output()).toContain('clusterize: clusterize stop received; draining workers');
    expect(existsSync(socketOf('control-app'))).toBe(false);
  });
});

describe('logs', () => {
  it('follows what a worker prints after it attached, and ends with exit 0 when the cluster stops', async () => {
    const cluster = await start();
    const logs = run([CLI, 'logs']);
    await logs.waitFor(/following the output of control-app/);
    await request(cluster.port, '/print?line=hello-from-a-worker');
    await logs.waitFor(/^hello-from-a-worker$/m);
    cluster.child.kill('SIGTERM');
    expect(await within(logs.exited, 10_000, 'logs exiting')).toEqual({ code: 0, signal: null });
    // The primary's own lines come too.
    expect(logs.output()).toContain('clusterize: SIGTERM received; draining workers');
    expect(logs.output()).toMatch(/clusterize: control-app stopped\n$/);
  });

  it('a client that stops reading is dropped with a line saying so; the cluster does not wait for it', async () => {
    const cluster = await start(['--workers', '1']);
    const client = net.connect(socketOf('control-app'));
    client.write('{"command":"logs"}\n');
    let received = '';
    client.on('data', (chunk: Buffer) => { received += chunk.toString(); });
    await until(() => received.includes('\n'), 5_000, 'the first reply');
    client.pause();
    // 16 MB, far beyond what the cluster keeps waiting for one reader (4 MB).
    expect((await request(cluster.port, '/flood?mb=16')).status).toBe(200);
    await cluster.waitFor(/clusterize: dropped a clusterize logs client that fell more than 4 MB behind/);
    const closed = new Promise((resolve) => client.once('close', resolve));
    client.resume();
    await within(closed, 5_000, 'the dropped client closing');
    expect((await request(cluster.port, '/')).status).toBe(200);
    const last = JSON.parse(received.trimEnd().split('\n').at(-1)!) as { type: string; reason: string; message: string };
    expect(last).toMatchObject({ type: 'end', reason: 'behind', message: expect.stringContaining('fell more than 4 MB behind') });
  });
});

describe('refusals', () => {
  it('an unknown name exits 1 listing the running ones; with none running, a clear line', async () => {
    const none = await clusterize(['status']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(coded('CLUSTER_NOT_FOUND'));
    expect(none.stderr).toContain(`no cluster of this user is running (none in ${runtimeDir()})`);
    const empty = await clusterize(['ls']);
    expect(empty).toMatchObject({ code: 0, stdout: '', stderr: 'clusterize: no cluster of this user is running\n' });
    await Promise.all([start(['--name', 'alpha']), start(['--name', 'beta'])]);
    const unknown = await clusterize(['stop', 'gamma']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(coded('CLUSTER_NOT_FOUND'));
    expect(unknown.stderr).toContain("no cluster named 'gamma' is running; running: alpha, beta");
  });

  it('a second cluster under a taken name refuses to start: exit 1, a coded line naming the first, no worker forked', async () => {
    const first = await start(['--name', 'web']);
    const second = run([CLI, '--workers', '1', '--name', 'web', fixture(APP)]);
    expect(await within(second.exited, 10_000, 'the second cluster exiting')).toEqual({ code: 1, signal: null });
    expect(second.output()).toMatch(coded('NAME_TAKEN'));
    expect(second.output()).toContain(`'web' is the name of a cluster that runs already (pid ${first.child.pid}, on ${socketOf('web')})`);
    expect(second.output()).not.toMatch(/ready on/);
    expect((await statusOf('web')).pid).toBe(first.child.pid);
  });

  it('a stale socket (its primary was killed) is removed and reported, by a command and by a cluster that takes the name', async () => {
    for (const command of [['status', 'ghost'], ['ls']]) {
      await staleSocket('ghost');
      const { code, stderr } = await clusterize(command);
      expect(stderr).toContain(`clusterize: removed a stale control socket ${socketOf('ghost')}: no cluster answered on it (its primary is gone)`);
      expect(code).toBe(command[0] === 'ls' ? 0 : 1);
      expect(existsSync(socketOf('ghost'))).toBe(false);
    }
    await staleSocket('ghost');
    const cluster = await start(['--name', 'ghost']);
    expect(cluster.output()).toContain(`clusterize: removed a stale control socket ${socketOf('ghost')}: no cluster answered on it`);
    expect((await statusOf('ghost')).pid).toBe(cluster.child.pid);
  });

  it("a socket of another user's is refused before any connection (as root: owned by nobody; else: open to others)", async () => {
    mkdirSync(runtimeDir(), { mode: 0o700 });
    const path = socketOf('other');
    const server = net.createServer();
    let connections = 0;
    server.on('connection', (socket) => { connections++; socket.destroy(); });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      let why: string;
      if (process.getuid!() === 0) {
        chmodSync(path, 0o600);
        chownSync(path, 65534, 65534);
        why = `${path} belongs to uid 65534, not to this user (uid 0)`;
      } else {
        chmodSync(path, 0o666);
        why = `${path} has mode 666: other users may use it`;
      }
      for (const command of [['status', 'other'], ['stop', '--control', path], ['ls']]) {
        const { code, stderr } = await clusterize(command);
        expect(code, command.join(' ')).toBe(1);
        expect(stderr).toMatch(coded('CONTROL_UNSAFE'));
        expect(stderr).toContain(why);
      }
      expect(connections).toBe(0);
      expect(existsSync(path)).toBe(true);
    } finally {
      server.close();
    }
  });

  it('a runtime folder others may enter is refused, by a command and by a cluster', async () => {
    mkdirSync(runtimeDir(), { mode: 0o755 });
    chmodSync(runtimeDir(), 0o755);
    const ls = await clusterize(['ls']);
    expect(ls.code).toBe(1);
    expect(ls.stderr).toMatch(coded('CONTROL_UNSAFE'));
    expect(ls.stderr).toContain(`${runtimeDir()} has mode 755: other users may use it (chmod 700 ${runtimeDir()} if it is yours)`);
    const cluster = run([CLI, '--workers', '1', fixture(APP)]);
    expect(await within(cluster.exited, 10_000, 'the cluster exiting')).toEqual({ code: 1, signal: null });
    expect(cluster.output()).toMatch(coded('CONTROL_UNSAFE'));
    expect(readdirSync(runtimeDir())).toEqual([]);
  });
});

describe('the API and --no-control', () => {
  it('the API takes commands only when asked (control: { name }); stop then takes the SIGTERM path and exits 0', async () => {
    const [quiet, api, noControl] = await Promise.all([startPrimary(APP, { workers: 1 }), startPrimary(APP, { workers: 1, control: { name: 'api' } }), start(['--no-control'])]);
    started.push(quiet, api);
    const ls = JSON.parse((await clusterize(['ls', '--json'])).stdout) as { name: string; pid: number }[];
    expect(ls.map(({ name, pid }) => ({ name, pid }))).toEqual([{ name: 'api', pid: api.child.pid }]);
    expect(noControl.output()).not.toContain('control socket');
    const stop = await clusterize(['stop']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(await within(api.exited, 5_000, 'the API primary exiting')).toEqual({ code: 0, signal: null });
  });
});

/** Leaves a socket in the runtime folder that nobody listens on, as a primary killed with SIGKILL does. */
async function staleSocket(name: string): Promise<void> {
  mkdirSync(runtimeDir(), { recursive: true, mode: 0o700 });
  const holder = run(['-e', "require('net').createServer().listen(process.env.SOCKET, () => process.kill(process.pid, 'SIGKILL'))"], { env: { SOCKET: socketOf(name) } });
  await holder.exited;
  chmodSync(socketOf(name), 0o600);
}
