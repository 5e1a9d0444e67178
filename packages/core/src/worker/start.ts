import { EXIT_NODE_INTERNALS, missingInternal, workerInternalsLine } from '../node-internals-check.js';
import { logLine } from './guard.js';
import { blockOnOutputPipes } from './output-pipes.js';
import { WorkerRuntime } from './runtime.js';
import { takeToken } from './token.js';

/** maxMessageSize's default (16 MB), for a worker whose primary did not say. */
const DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;

// On globalThis, so that two copies of this package in one process (the preload and the
// app's own import resolving elsewhere) still share the one runtime.
const RUNTIME = Symbol.for('clusterize.worker-runtime');
type Holder = { [RUNTIME]?: WorkerRuntime };

const WORKER_ID_ENV = 'CLUSTERIZE_WORKER_ID';

/** Starts the worker runtime if the primary forked this process; idempotent. */
export function startWorker(): WorkerRuntime | undefined {
  const holder = globalThis as Holder;
  if (holder[RUNTIME] !== undefined) return holder[RUNTIME];
  // Taken first, whatever follows: the pipe is closed before any app code runs.
  const token = takeToken();
  const id = Number(process.env[WORKER_ID_ENV]);
  if (!Number.isInteger(id) || id < 1 || token === undefined || typeof process.send !== 'function') return undefined;
  // Before anything is written, the line below included.
  blockOnOutputPipes();
  // Before the app runs: without its internals the runtime could only fail obscurely later.
  const missing = missingInternal('worker');
  if (missing !== undefined) {
    logLine(workerInternalsLine(`worker ${id} (pid ${process.pid})`, missing));
    process.exit(EXIT_NODE_INTERNALS);
  }
  const timeout = Number(process.env.CLUSTERIZE_SHUTDOWN_TIMEOUT);
  const maxMessageSize = Number(process.env.CLUSTERIZE_MAX_MESSAGE_SIZE);
  const runtime = new WorkerRuntime(id, token, {
    shutdownTimeout: Number.isFinite(timeout) ? timeout : 10_000,
    maxMessageSize: Number.isFinite(maxMessageSize) && maxMessageSize > 0 ? maxMessageSize : DEFAULT_MAX_MESSAGE_SIZE,
  });
  holder[RUNTIME] = runtime;
  runtime.start();
  return runtime;
}

/** The worker runtime of this process, or undefined in the primary or a plain process. */
export function currentWorker(): WorkerRuntime | undefined {
  return (globalThis as Holder)[RUNTIME];
}
