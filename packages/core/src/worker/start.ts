import { EXIT_NODE_INTERNALS, missingInternal, workerInternalsLine } from '../node-internals-check.js';
import { logLine } from './guard.js';
import { presentNodeClusterWorker } from './node-cluster-view.js';
import { blockOnOutputPipes } from './output-pipes.js';
import { WorkerRuntime } from './runtime.js';
import { takeToken } from './token.js';
import { readWorkerEnv } from '../worker-env.js';

// On globalThis, so that two copies of this package in one process (the preload and the
// app's own import resolving elsewhere) still share the one runtime.
const RUNTIME = Symbol.for('clusterize.worker-runtime');
type Holder = { [RUNTIME]?: WorkerRuntime };

/** Starts the worker runtime if the primary forked this process; idempotent. */
export function startWorker(): WorkerRuntime | undefined {
  const holder = globalThis as Holder;
  if (holder[RUNTIME] !== undefined) return holder[RUNTIME];
  const { id, slot, tokenFd, problems, ...settings } = readWorkerEnv(process.env);
  // Taken first, whatever follows: the pipe is closed before any app code runs.
  const token = takeToken(tokenFd);
  const worker = id !== undefined && slot !== undefined && token !== undefined && typeof process.send === 'function';
  // Before anything is written, the lines below included.
  if (worker) blockOnOutputPipes();
  const who = id === undefined ? `pid ${process.pid}` : `worker ${id} (pid ${process.pid})`;
  for (const problem of problems) logLine(`clusterize: ${who}: ${problem}`);
  if (!worker) return undefined;
  // Before the app runs: without its internals the runtime could only fail obscurely later.
  const missing = missingInternal('worker');
  if (missing !== undefined) {
    logLine(workerInternalsLine(`worker ${id} (pid ${process.pid})`, missing));
    process.exit(EXIT_NODE_INTERNALS);
  }
  const runtime = new WorkerRuntime(id, slot, token, settings);
  holder[RUNTIME] = runtime;
  runtime.start();
  presentNodeClusterWorker(runtime, settings.shutdownTimeout);
  return runtime;
}

/** The worker runtime of this process, or undefined in the primary or a plain process. */
export function currentWorker(): WorkerRuntime | undefined {
  return (globalThis as Holder)[RUNTIME];
}
