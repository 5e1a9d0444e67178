import { fork, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import type { ResolvedOptions } from '../options.js';
import { workerEnv } from '../worker-env.js';
import { workerExecArgv } from './exec-argv.js';

/** The worker's fd for the pipe its token comes through: the first after stdin, stdout, stderr and the IPC channel. */
const TOKEN_FD = 4;

/**
 * Forks worker `id` into `slot`: the app's script with the worker runtime preloaded, its output piped
 * through the primary (which keeps the last lines for failure reports) and an IPC channel.
 * Throws when the fork fails at once; a spawn that fails later (EMFILE, EAGAIN) emits
 * 'error' and never 'exit'.
 *
 * The token goes through a pipe of its own, never the environment: a process's initial
 * environment stays readable in /proc/<pid>/environ for its whole life, whatever it deletes
 * from process.env. The worker reads it at preload and closes the pipe before the app runs.
 */
export function spawnWorker(options: ResolvedOptions, id: number, slot: number, token: string): ChildProcess {
  const child = fork(options.script, [...options.args], {
    execArgv: workerExecArgv(options.execArgv, id),
    env: { ...process.env, ...options.env, ...workerEnv(options, id, slot, TOKEN_FD) },
    stdio: ['inherit', 'pipe', 'pipe', 'ipc', 'pipe'],
  });
  // A spawn that failed (EMFILE, ENFILE) returns a child with no stdio at all; its 'error' follows.
  const pipe = child.stdio?.[TOKEN_FD] as Writable | null | undefined;
  // A worker that dies before it reads makes the write fail with EPIPE: nothing to do, its exit is handled.
  pipe?.on('error', () => {});
  // The token stays in the socket's buffer once written: close our end so the worker reads to its end.
  pipe?.end(token, () => pipe.destroy());
  return child;
}
