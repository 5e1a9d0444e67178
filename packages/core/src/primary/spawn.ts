import { fork, type ChildProcess } from 'node:child_process';
import type { ResolvedOptions } from '../options.js';
import { workerExecArgv } from './exec-argv.js';

/**
 * Forks worker `id`: the app's script with the worker runtime preloaded, its output piped
 * through the primary (which keeps the last lines for failure reports) and an IPC channel.
 * Throws when the fork fails at once; a spawn that fails later (EMFILE, EAGAIN) emits
 * 'error' and never 'exit'.
 */
export function spawnWorker(options: ResolvedOptions, id: number, token: string): ChildProcess {
  return fork(options.script, [...options.args], {
    execArgv: workerExecArgv(options.execArgv, id),
    env: {
      ...process.env,
      ...options.env,
      CLUSTERIZE_WORKER_ID: String(id),
      CLUSTERIZE_TOKEN: token,
      CLUSTERIZE_SHUTDOWN_TIMEOUT: String(options.shutdownTimeout),
    },
    stdio: ['inherit', 'pipe', 'pipe', 'ipc'],
  });
}
