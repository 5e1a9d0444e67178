import { setBlockingWrites } from '../node-internals.js';

/**
 * A worker's stdout and stderr are pipes to its primary, and Node writes to a pipe
 * asynchronously: what the pipe cannot take at once waits in the process, and
 * `process.exit()` drops it (of 1 MB written to stderr right before, a few tens of KB arrived).
 * Blocking writes, as Node's to a terminal or a file, lose nothing at exit and keep a
 * chatty worker at the pace the primary relays its output (see OutputRelay): when the
 * primary's own stdout is full, the worker waits in write() instead of queueing.
 */
export function blockOnOutputPipes(): void {
  setBlockingWrites(process.stdout);
  setBlockingWrites(process.stderr);
}

/**
 * A worker's stdout and stderr are pipes to its primary. Once the primary is gone (SIGKILL,
 * the OOM killer) the app's next log line fails with EPIPE, and an 'error' event nobody
 * listens to kills the worker with its in-flight requests. A broken pipe is ignored instead:
 * the IPC channel is gone too, so the worker drains and exits. Other errors on these
 * streams stay fatal, as they are in a lone process, unless the app listens for them.
 */
export function ignoreBrokenOutputPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || !process.connected) return;
      if (stream.listenerCount('error') === 1) throw error;
    });
  }
}
