// Child processes of the bench: each in its own process group, so that it and everything
// it forks can be killed at once, and every group killed when the bench exits for any reason.
import { spawn, type ChildProcess } from 'node:child_process';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Proc {
  readonly pid: number;
  /** What the process printed so far (stdout and stderr, the last 64 KiB). */
  output(): string;
  /** How much it has printed so far: pass it to waitFor to match only what comes after. */
  mark(): number;
  /** Resolves with the first match in the output (after `mark`); rejects on timeout or exit. */
  waitFor(pattern: RegExp, timeoutMs: number, mark?: number): Promise<RegExpMatchArray>;
  readonly exited: Promise<Exit>;
  /** Waits up to `timeoutMs` for the exit, then kills the whole group. */
  finish(timeoutMs: number): Promise<Exit & { timedOut: boolean }>;
  /** Sends `signal`, then finish(timeoutMs). */
  stop(signal: NodeJS.Signals, timeoutMs: number): Promise<Exit & { timedOut: boolean }>;
  signal(signal: NodeJS.Signals): void;
}

const OUTPUT_LIMIT = 64 * 1024;
const groups = new Set<number>();
const cleanups = new Set<() => void>();

/** Runs `cleanup` (synchronous) when the bench exits, unless it was removed before. */
export function atExit(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is already gone
  }
}

process.on('exit', () => {
  for (const cleanup of cleanups) cleanup();
  for (const pid of groups) killGroup(pid);
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => process.exit(130));
}

export function start(command: string, args: readonly string[], env: Record<string, string> = {}): Proc {
  const child: ChildProcess = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${command} ${args.join(' ')}`);
  groups.add(pid);
  let output = '';
  let printed = 0;
  const watchers = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-OUTPUT_LIMIT);
    printed += text.length;
    for (const watcher of watchers) watcher();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      for (const watcher of watchers) watcher();
      resolve({ code, signal });
    });
  });
  const alive = () => child.exitCode === null && child.signalCode === null;

  const waitFor = (pattern: RegExp, timeoutMs: number, mark = 0) => new Promise<RegExpMatchArray>((resolve, reject) => {
    const done = (settle: () => void) => {
      clearTimeout(timer);
      watchers.delete(check);
      settle();
    };
    const check = () => {
      const match = pattern.exec(output.slice(Math.max(0, output.length - (printed - mark))));
      if (match !== null) done(() => resolve(match));
      else if (!alive()) done(() => reject(new Error(`exited before printing ${pattern}:\n${output}`)));
    };
    const timer = setTimeout(() => done(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${output}`))), timeoutMs);
    watchers.add(check);
    check();
  });

  const finish = async (timeoutMs: number) => {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), timeoutMs); }),
    ]);
    clearTimeout(timer);
    killGroup(pid);
    groups.delete(pid);
    return { ...(await exited), timedOut };
  };
  const signal = (name: NodeJS.Signals) => {
    if (alive()) child.kill(name);
  };

  return {
    pid,
    output: () => output,
    mark: () => printed,
    waitFor,
    exited,
    finish,
    stop: (name, timeoutMs) => {
      signal(name);
      return finish(timeoutMs);
    },
    signal,
  };
}
