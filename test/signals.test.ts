import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, fixture } from './helpers.ts';
import { watchOutput } from './internal-errors.ts';

function need(command: string, args: string[], install: string): void {
  const probe = spawnSync(command, args, { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(`${command} is needed (${probe.error?.message ?? probe.stderr.trim()}): install it with '${install}'; .ci/run installs it`);
  }
}

/** Every kill(2)-family call in an `strace -f` log: who sent it, to whom, which signal. */
function signalsSent(trace: string): { from: number; to: number; signal: string }[] {
  return [...trace.matchAll(/^(\d+)\s+t?g?kill\((?:(-?\d+), )?(-?\d+), (\w+)\)/gm)].map((match) => ({
    from: Number(match[1]),
    to: Number(match[2] ?? match[3]),
    signal: match[4]!,
  }));
}

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('the primary signals only its own live workers', () => {
  it('forks that fail with EMFILE until the start gives up: no signal outside the cluster, the process group survives', async () => {
    need('strace', ['-V'], 'apt-get install -y strace');
    need('unshare', ['--user', '--map-root-user', '--pid', '--fork', 'true'], 'apt-get install -y util-linux (and allow user namespaces)');
    dir = mkdtempSync(join(tmpdir(), 'clusterize-signals-'));
    const trace = join(dir, 'trace');
    // A pid namespace of its own, so a wrong pid cannot reach a process of this machine; a
    // process group of its own (detached), so a kill(0) cannot reach the test runner.
    const child = spawn('unshare', ['--user', '--map-root-user', '--pid', '--fork', '--mount-proc', '--',
      'bash', '-c', 'bash "$0" & wait $!; echo "group status $?"', fixture('fork-starved.sh')], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NOFILE: '64', WORKERS: '30', TRACE: trace, NODE: process.execPath, CLI, APP: fixture('hello.mjs') },
    });
    let output = '';
    watchOutput(`a cluster in a pid namespace (pid ${child.pid})`, () => output);
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const ended = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 60_000);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    });
    // The start failed the way it should, with forks that could not be made.
    expect(output).toMatch(/could not be started: spawn \S+ EMFILE/);
    expect(output).toMatch(/ERR_CLUSTERIZE_START_FAILED/);
    // The shell that ran the CLI, and its sibling in the same process group, lived on.
    expect(output).toMatch(/^cli exited 1$/m);
    expect(output).toMatch(/^sibling alive$/m);
    expect(output).toMatch(/^group status 0$/m);
    expect(ended).toEqual({ code: 0, signal: null });
    // Every signal the cluster sent went to one of its own processes (strace names each one it traced).
    const log = readFileSync(trace, 'utf8');
    const traced = new Set([...log.matchAll(/^(\d+) /gm)].map((match) => Number(match[1])));
    for (const sent of signalsSent(log)) {
      expect(sent.to, `kill(${sent.to}, ${sent.signal}) from ${sent.from}`).toBeGreaterThan(0);
      expect(traced.has(sent.to), `kill(${sent.to}, ${sent.signal}) from ${sent.from} reached a process outside the cluster`).toBe(true);
    }
  });
});
