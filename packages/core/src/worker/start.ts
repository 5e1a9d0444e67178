import { WorkerRuntime } from './runtime.js';

// On globalThis, so that two copies of this package in one process (the preload and the
// app's own import resolving elsewhere) still share the one runtime.
const RUNTIME = Symbol.for('clusterize.worker-runtime');
type Holder = { [RUNTIME]?: WorkerRuntime };

export const WORKER_ID_ENV = 'CLUSTERIZE_WORKER_ID';
const TOKEN_ENV = 'CLUSTERIZE_TOKEN';

/** Starts the worker runtime if the primary forked this process; idempotent. */
export function startWorker(): WorkerRuntime | undefined {
  const holder = globalThis as Holder;
  if (holder[RUNTIME] !== undefined) return holder[RUNTIME];
  const id = Number(process.env[WORKER_ID_ENV]);
  const token = process.env[TOKEN_ENV];
  if (!Number.isInteger(id) || id < 1 || token === undefined || typeof process.send !== 'function') return undefined;
  // The token proves our messages are ours; the app and its child processes never see it.
  delete process.env[TOKEN_ENV];
  const timeout = Number(process.env.CLUSTERIZE_SHUTDOWN_TIMEOUT);
  const runtime = new WorkerRuntime(id, token, Number.isFinite(timeout) ? timeout : 10_000);
  holder[RUNTIME] = runtime;
  runtime.start();
  return runtime;
}

/** The worker runtime of this process, or undefined in the primary or a plain process. */
export function currentWorker(): WorkerRuntime | undefined {
  return (globalThis as Holder)[RUNTIME];
}
