import type { ChildProcess } from 'node:child_process';

/**
 * The one way the primary signals a process: only a child it forked, that got a pid, and
 * that has not been reaped. It runs as root in many containers, so a wrong target is not
 * an error it would hear about: it would kill an unrelated process.
 *
 * The guard is not paranoia. When fork() fails with EMFILE or ENFILE, Node returns a
 * ChildProcess with no pid whose handle is still open, and `child.kill()` passes that
 * handle's unset pid to kill(2): pid 0 signals the primary's whole process group (its
 * parent shell, its siblings), and other unset values hit arbitrary processes. Once a child
 * has been reaped its handle is closed and Node sends nothing, so a recycled pid is safe.
 *
 * Returns true when the signal was delivered.
 */
export function signalChild(child: ChildProcess, signal: NodeJS.Signals): boolean {
  const { pid } = child;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return false;
  if (child.exitCode !== null || child.signalCode !== null) return false;
  try {
    return child.kill(signal);
  } catch {
    // ESRCH and the like: it is already gone, and its 'exit' is on the way.
    return false;
  }
}
