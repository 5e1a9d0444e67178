import { spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertSupportedNode, MIN_NODE_VERSION } from '../packages/core/src/node-version.ts';
import { CLI, fixture, run, within, type Running } from './helpers.ts';
import { watchOutput } from './internal-errors.ts';

const script = fixture('hello.mjs');
const missing = join(fixture(''), 'no-such-server.mjs');

// Scripts this process (root) could read but that are still wrong to run.
const scratch = mkdtempSync(join(tmpdir(), 'clusterize-cli-'));
chmodSync(scratch, 0o755);
const noReadBit = join(scratch, 'no-read-bit.mjs');
writeFileSync(noReadBit, 'import "node:http";\n', { mode: 0o000 });
const ownerOnly = join(scratch, 'owner-only.mjs');
writeFileSync(ownerOnly, 'import "node:http";\n', { mode: 0o600 });
mkdirSync(join(scratch, 'closed'), { mode: 0o700 });
const behindClosedDir = join(scratch, 'closed', 'server.mjs');
writeFileSync(behindClosedDir, 'import "node:http";\n', { mode: 0o644 });
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const between = (text: string) => text.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&');

const cases: { input: string; args: string[]; env?: Record<string, string>; code: string; names: RegExp }[] = [
  { input: '--workers 0', args: ['--workers', '0', script], code: 'INVALID_WORKERS', names: /--workers must be an integer from 1 to 1024 or 'auto', got '0'/ },
  { input: '--workers -1', args: ['--workers', '-1', script], code: 'INVALID_WORKERS', names: /--workers must be an integer from 1 to 1024 or 'auto', got '-1'/ },
  { input: '--workers abc', args: ['--workers', 'abc', script], code: 'INVALID_WORKERS', names: /--workers .*'abc'/ },
  { input: '--workers without a value', args: ['--workers'], code: 'INVALID_OPTION', names: /--workers needs a value/ },
  { input: 'CLUSTERIZE_WORKERS=abc', args: [script], env: { CLUSTERIZE_WORKERS: 'abc' }, code: 'INVALID_WORKERS', names: /CLUSTERIZE_WORKERS must be .*, got 'abc'/ },
  { input: 'an unknown option', args: ['--wrokers', '2', script], code: 'UNKNOWN_OPTION', names: /'--wrokers'/ },
  { input: 'no script', args: ['--workers', '2'], code: 'MISSING_SCRIPT', names: /script/ },
  { input: 'a script that does not exist', args: [missing], code: 'SCRIPT_NOT_FOUND', names: new RegExp(between(missing)) },
  { input: 'a directory as the script', args: [fixture('')], code: 'SCRIPT_NOT_FOUND', names: /fixtures/ },
  { input: 'a script nobody may read (mode 000)', args: [noReadBit], code: 'SCRIPT_UNREADABLE', names: new RegExp(`${between(noReadBit)}: mode 000 lets nobody read it`) },
  { input: 'a primary module that does not exist', args: ['--primary-module', missing, script], code: 'SCRIPT_NOT_FOUND', names: new RegExp(`--primary-module ${between(missing)} does not exist`) },
  { input: 'a primary module nobody may read (mode 000)', args: ['--primary-module', noReadBit, script], code: 'SCRIPT_UNREADABLE', names: new RegExp(`--primary-module ${between(noReadBit)}: mode 000 lets nobody read it`) },
  { input: 'an unknown policy', args: ['--policy', 'fastest', script], code: 'UNKNOWN_POLICY', names: /'fastest'/ },
  { input: 'a reload signal that stops the cluster', args: ['--reload-signal', 'SIGTERM', script], code: 'INVALID_OPTION', names: /--reload-signal must be one of 'SIGHUP', 'SIGUSR2', 'SIGUSR1', got 'SIGTERM'/ },
  { input: 'a non-numeric timeout', args: ['--shutdown-timeout', 'soon', script], code: 'INVALID_OPTION', names: /--shutdown-timeout .*'soon'/ },
  { input: '--ready-timeout above what timers accept', args: ['--ready-timeout', '3000000000', script], code: 'INVALID_OPTION', names: /--ready-timeout .* to 2147483647, got '3000000000'/ },
  { input: '--shutdown-timeout above what timers accept', args: ['--shutdown-timeout', '3000000000', script], code: 'INVALID_OPTION', names: /--shutdown-timeout .* to \d+, got '3000000000'/ },
  { input: '--max-age above what timers accept', args: ['--max-age', '2147483648', script], code: 'INVALID_OPTION', names: /--max-age .* to 2147483647, got '2147483648'/ },
  { input: '--heartbeat-timeout 1', args: ['--heartbeat-timeout', '1', script], code: 'INVALID_OPTION', names: /--heartbeat-timeout must be 0 \(off\) or .* from 1000 / },
  { input: '--queue-timeout -1', args: ['--queue-timeout', '-1', script], code: 'INVALID_OPTION', names: /--queue-timeout must be a whole number of milliseconds from 0 to 2147483647, got '-1'/ },
  { input: '--ready-timeout 99', args: ['--ready-timeout', '99', script], code: 'INVALID_OPTION', names: /--ready-timeout .* from 100 / },
  { input: 'a name with a space', args: ['--name', 'my app', script], code: 'INVALID_NAME', names: /--name must be 1 to 64 letters, digits, '\.', '_' or '-', got 'my app'/ },
  { input: '--name after --no-control', args: ['--no-control', '--name', 'web', script], code: 'INVALID_OPTION', names: /--name contradicts --no-control/ },
  { input: 'clusterize scale 0', args: ['scale', 'web', '0'], code: 'INVALID_WORKERS', names: /clusterize scale N must be an integer from 1 to 1024, got '0'/ },
  { input: 'clusterize scale without N', args: ['scale'], code: 'INVALID_OPTION', names: /clusterize scale needs the number of workers/ },
  { input: 'clusterize status with two names', args: ['status', 'web', 'api'], code: 'UNKNOWN_OPTION', names: /'api' for clusterize status/ },
  { input: 'clusterize reload with a bad name', args: ['reload', 'a/b'], code: 'INVALID_NAME', names: /the cluster name must be 1 to 64 letters/ },
  { input: 'a flag neither clusterize nor Node.js has', args: ['--no-such-flag', script], code: 'UNKNOWN_OPTION', names: /'--no-such-flag' \(neither clusterize nor Node\.js has it/ },
  { input: 'a Node.js flag node rejects', args: ['--node-option', '--bogus', script], code: 'INVALID_NODE_OPTION', names: /node rejects --bogus: bad option: --bogus/ },
  { input: 'a V8 flag with a bad value', args: ['--node-option', '--max-old-space-size=abc', script], code: 'INVALID_NODE_OPTION', names: /illegal value for flag --max-old-space-size=abc/ },
  { input: 'a Node.js flag without its value', args: ['--node-option', '--import', script], code: 'INVALID_NODE_OPTION', names: /--import requires an argument \(a flag and its value go in one argument: --import=VALUE\)/ },
  { input: 'a Node.js flag that is not for workers', args: ['--node-args', '--no-warnings --eval=1', script], code: 'INVALID_NODE_OPTION', names: /--eval=1 \(--node-args\): it makes node do something other than run the script/ },
  { input: 'an unknown log format', args: ['--log-format', 'xml', script], code: 'INVALID_OPTION', names: /--log-format must be 'text' or 'json', got 'xml'/ },
  { input: 'a path to watch that does not exist', args: [`--watch=${missing}`, script], code: 'WATCH_PATH_NOT_FOUND', names: new RegExp(`--watch ${between(missing)} does not exist`) },
  { input: 'an env file nobody may read (mode 000)', args: ['--env-file', noReadBit, script], code: 'ENV_FILE_UNREADABLE', names: new RegExp(`--env-file ${between(noReadBit)}: mode 000 lets nobody read it`) },
];

const oneLine = (code: string) => new RegExp(`^clusterize: [^\\n]+ \\[ERR_CLUSTERIZE_${code}\\]\\n$`);

describe('clusterize CLI with bad input', () => {
  for (const { input, args, env, code, names } of cases) {
    it(`${input}: one line naming the problem, exit code 2, no worker started`, async () => {
      const proc = run([CLI, ...args], { env });
      const exit = await within(proc.exited, 5_000, 'the CLI exiting');
      expect(exit).toEqual({ code: 2, signal: null });
      // The whole output is the one error line: no "starting workers", nothing from a worker.
      expect(proc.output()).toMatch(oneLine(code));
      expect(proc.output()).toMatch(names);
    });
  }
});

/** Runs a command to its exit; resolves with its exit code and everything it printed. */
function runCommand(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Run as another user, a process could not write coverage into our folder (npm run
    // coverage). Empty, not deleted: child_process puts a missing NODE_V8_COVERAGE back.
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_V8_COVERAGE: '' } });
    let output = '';
    watchOutput(`${command} ${args.join(' ')} (pid ${child.pid})`, () => output);
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));

// Root reads any file, so what an ordinary user meets is tested as one (nobody).
describe.runIf(setpriv !== undefined)('clusterize CLI run by an unprivileged user', () => {
  const asNobody = (path: string) => runCommand(setpriv!, ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, path]);

  it('a script only its owner may read: one line, exit code 2', async () => {
    const { code, output } = await within(asNobody(ownerOnly), 5_000, 'the CLI exiting');
    expect(code).toBe(2);
    expect(output).toMatch(oneLine('SCRIPT_UNREADABLE'));
    expect(output).toContain(`${ownerOnly}: mode 600 does not let this user (uid 65534) read it`);
  });

  it('a script in a folder it may not enter: one line, exit code 2', async () => {
    const { code, output } = await within(asNobody(behindClosedDir), 5_000, 'the CLI exiting');
    expect(code).toBe(2);
    expect(output).toMatch(oneLine('SCRIPT_UNREADABLE'));
    expect(output).toContain(`${behindClosedDir}: a folder on the way denies this user (uid 65534) access`);
  });
});

/**
 * A Node.js older than clusterize needs, if the system has one: on PATH outside node_modules
 * (whose `node` is the pinned toolchain), or where distributions and installers put it.
 */
async function oldSystemNode(): Promise<{ path: string; version: string } | undefined> {
  const onPath = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '' && !dir.includes('node_modules'));
  for (const dir of new Set([...onPath, '/usr/local/bin', '/usr/bin'])) {
    const path = join(dir, 'node');
    try {
      accessSync(path, constants.X_OK);
    } catch {
      continue;
    }
    const { output } = await runCommand(path, ['-p', 'process.versions.node']);
    const version = output.trim();
    const [major = 0, minor = 0] = version.split('.').map(Number);
    if (major < 22 || (major === 22 && minor < 12)) return { path, version };
  }
  return undefined;
}

// The pure check is unit-tested in test/unit/node-version.test.ts; this runs the real CLI
// and library on the machine's own older Node.js, where there is one (Node 20 here).
const oldNode = await oldSystemNode();

describe.runIf(oldNode !== undefined)(`clusterize CLI on Node.js ${oldNode?.version ?? '< 22.12'}`, () => {
  for (const args of [['--help'], ['--workers', '2', script]]) {
    it(`clusterize ${args.join(' ')}: one line naming both versions, exit code 2`, async () => {
      const { code, output } = await within(runCommand(oldNode!.path, [CLI, ...args]), 5_000, 'the CLI exiting');
      expect(code).toBe(2);
      expect(output).toMatch(oneLine('UNSUPPORTED_NODE'));
      expect(output).toContain(`needs 22.12.0 or newer, this is ${oldNode!.version}`);
    });
  }
});

describe('the library on a Node.js older than 22.12', () => {
  it('importing @clusterize/core throws the CLI\'s coded error naming both versions, before anything else can fail', async () => {
    if (oldNode === undefined) {
      // No older Node.js here: the check index.ts runs first, with an older version.
      expect(() => assertSupportedNode('20.20.2')).toThrow(expect.objectContaining({
        code: 'ERR_CLUSTERIZE_UNSUPPORTED_NODE', message: `Unsupported Node.js version: needs ${MIN_NODE_VERSION} or newer, this is 20.20.2`,
      }));
      return;
    }
    const { code, output } = await within(runCommand(oldNode.path, [fixture('import-core.mjs')]), 5_000, 'the script exiting');
    expect(code).toBe(1);
    expect(output).toContain(`Error: Unsupported Node.js version: needs ${MIN_NODE_VERSION} or newer, this is ${oldNode.version}`);
    expect(output).toContain("code: 'ERR_CLUSTERIZE_UNSUPPORTED_NODE'");
    expect(output).not.toMatch(/imported|withResolvers/);
  });
});

describe('a start that fails: a few lines, the cause on the last one', () => {
  const cannotStart = fixture('cannot-start.mjs');
  /** Every line `proc` printed, and the last one. */
  const lines = (proc: Running) => proc.output().trimEnd().split('\n');
  /** A line of a stack frame or of Node's "thrown here" header in clusterize's own files. */
  const ownFrame = /packages\/core\/(dist|src)\//;

  it('a script that throws at import: the last output of the last worker once, then one line naming the error', async () => {
    const proc = run([CLI, '--workers', '2', cannotStart], { env: { CANNOT_START: 'throw' } });
    expect(await within(proc.exited, 20_000, 'the CLI exiting')).toEqual({ code: 1, signal: null });
    const printed = lines(proc);
    // Before: 88 lines, the stack trace of every worker that failed and the cause line not last.
    expect(printed.length, proc.output()).toBeLessThanOrEqual(22);
    expect(printed.at(-1)).toMatch(/^clusterize: Start failed: worker \d+ \(pid \d+\) exited with code 1 before it was ready: Error: the configuration file is missing; 5 workers in a row failed to start \[ERR_CLUSTERIZE_START_FAILED\]$/);
    const report = printed.findIndex((line) => /^clusterize: the last output of worker \d+ \(pid \d+\):$/.test(line));
    const above = printed.slice(report + 1, -1);
    expect(above.length).toBeGreaterThan(0);
    expect(above.length).toBeLessThanOrEqual(20);
    expect(above.every((line) => line === '' || line.startsWith('  '))).toBe(true);
    expect(printed.filter((line) => line.trim() === 'Error: the configuration file is missing')).toEqual(['  Error: the configuration file is missing']);
    expect(printed.filter((line) => ownFrame.test(line))).toEqual([]);
  });

  it('its port is taken: no stack frame from clusterize\'s files, and the last line names the address and EADDRINUSE', async () => {
    const holder = run(['-e', "require('net').createServer().listen(0, '127.0.0.1', function () { console.log('port ' + this.address().port) })"]);
    try {
      const port = (await holder.waitFor(/port (\d+)/))[1]!;
      const proc = run([CLI, '--workers', '2', cannotStart], { env: { CANNOT_START: 'port', PORT: port } });
      expect(await within(proc.exited, 20_000, 'the CLI exiting')).toEqual({ code: 1, signal: null });
      const printed = lines(proc);
      // Before: 192 lines, most of them clusterize's own frames (dist/worker/runtime.js, guard.js).
      expect(printed.length, proc.output()).toBeLessThanOrEqual(32);
      expect(printed.at(-1)).toMatch(new RegExp(`^clusterize: Start failed: worker \\d+ \\(pid \\d+\\) exited with code 1 before it was ready: could not listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE; 5 workers in a row failed to start \\[ERR_CLUSTERIZE_START_FAILED\\]$`));
      expect(printed).toContain(`  Error: bind EADDRINUSE 127.0.0.1:${port}`);
      expect(printed.filter((line) => ownFrame.test(line))).toEqual([]);
    } finally {
      await holder.stop('SIGKILL');
    }
  });

  it('a script that never listens: the start fails after one readyTimeout, not five, and says it printed nothing', async () => {
    const startedAt = Date.now();
    const proc = run([CLI, '--workers', '2', '--ready-timeout', '1000', cannotStart], { env: { CANNOT_START: 'never' } });
    expect(await within(proc.exited, 20_000, 'the CLI exiting')).toEqual({ code: 1, signal: null });
    // Before: 5 workers in a row, each given readyTimeout (92 s with the default 30 s).
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(proc.output()).not.toMatch(/worker 3|starting a replacement/);
    expect(lines(proc).at(-1)).toMatch(/^clusterize: Start failed: worker [12] \(pid \d+\) was not ready within 1000 ms; it printed nothing \[ERR_CLUSTERIZE_START_FAILED\]$/);
  });
});
