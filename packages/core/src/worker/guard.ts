/**
 * The runtime's own handlers and timers must never take the worker down: an exception in
 * them (EMFILE, ENOMEM: the process is out of something, and busiest) is logged, and the
 * worker goes on serving. Application code the runtime calls into (the listen callback, a
 * server's 'error' listeners, a connection handed to the server) keeps Node's behaviour:
 * what it throws stays uncaught, as it would in a lone process.
 */
class ThrownByApp {
  constructor(readonly error: unknown) {}
}

/** Runs application code from inside a guarded handler, so its exceptions pass through. */
export function intoApp(call: () => void): void {
  try {
    call();
  } catch (error) {
    throw error instanceof ThrownByApp ? error : new ThrownByApp(error);
  }
}

/** `handler`, with its own exceptions logged instead of thrown. */
export function guarded<A extends unknown[]>(what: string, handler: (...args: A) => void): (...args: A) => void {
  return (...args) => {
    try {
      handler(...args);
    } catch (error) {
      if (error instanceof ThrownByApp) throw error.error;
      reportRuntimeError(what, error);
    }
  };
}

export function reportRuntimeError(what: string, error: unknown): void {
  logLine(`clusterize: worker (pid ${process.pid}): ${what} failed, the worker goes on: ${describe(error)}`);
}

export function describe(error: unknown): string {
  return (error as Error)?.stack ?? String(error);
}

/** One line on stderr, which may be a pipe to a primary that is gone. */
export function logLine(line: string): void {
  try {
    process.stderr.write(`${line}\n`);
  } catch {
    // Nowhere left to say it.
  }
}
