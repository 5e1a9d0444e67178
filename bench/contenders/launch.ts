import { start, type Proc } from '../process.ts';

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;
const RELOAD_TIMEOUT_MS = 60_000;

/**
 * Runs a Node.js script with the Node.js that runs the bench and waits for the port in its
 * line `<prefix>...:PORT` (`listening on http://127.0.0.1:PORT`, `ready on 127.0.0.1:PORT`).
 * A process that fails to get there is killed.
 */
export async function startListening(args: readonly string[], env: Record<string, string>, prefix: string): Promise<{ proc: Proc; port: number }> {
  const proc = start(process.execPath, args, env);
  try {
    const match = await proc.waitFor(new RegExp(`${prefix}\\S*?:(\\d+)\\b`), START_TIMEOUT_MS);
    return { proc, port: Number(match[1]) };
  } catch (error) {
    await proc.stop('SIGKILL', STOP_TIMEOUT_MS);
    throw error;
  }
}

/**
 * Stops with SIGTERM. A process that promises a graceful stop must exit 0 in time; anything
 * else is reported. The others may simply die of the signal.
 */
export async function stopProcess(proc: Proc, graceful: boolean): Promise<string | null> {
  const exit = await proc.stop('SIGTERM', STOP_TIMEOUT_MS);
  if (exit.timedOut) return `pid ${proc.pid} still running ${STOP_TIMEOUT_MS} ms after SIGTERM; killed`;
  if (graceful && exit.code !== 0) return `pid ${proc.pid} exited with ${exit.code ?? exit.signal} after SIGTERM`;
  return null;
}

/** Stops them all; resolves with the first problem reported, or null. */
export async function stopAll(procs: readonly Proc[], graceful: boolean): Promise<string | null> {
  const problems = await Promise.all(procs.map((proc) => stopProcess(proc, graceful)));
  return problems.find((problem) => problem !== null) ?? null;
}

/** A rolling reload by SIGHUP to a primary that prints `reload complete` or `reload failed: ...` when done. */
export function reloadBySighup(proc: Proc, name: string): () => Promise<void> {
  return async () => {
    const mark = proc.mark();
    proc.signal('SIGHUP');
    const outcome = await proc.waitFor(/reload (complete|failed.*)/, RELOAD_TIMEOUT_MS, mark);
    if (outcome[1] !== 'complete') throw new Error(`${name}: ${outcome[0]}`);
  };
}
