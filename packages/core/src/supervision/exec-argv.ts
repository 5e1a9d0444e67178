const BOOTSTRAP = new URL('../worker/bootstrap.js', import.meta.url).href;
const INSPECT = /^--inspect(-brk|-wait)?(=(.*))?$/;

/**
 * The workers' Node.js flags: the primary's own (so loaders such as `--import tsx` carry
 * over), the worker runtime preloaded, and each debugger on a port of its own (as
 * node:cluster does) instead of all of them fighting for the primary's.
 */
export function workerExecArgv(execArgv: readonly string[], workerId: number): string[] {
  const out: string[] = [];
  for (const flag of execArgv) {
    const inspect = INSPECT.exec(flag);
    if (inspect === null) {
      out.push(flag);
      continue;
    }
    const port = Number(/(\d+)$/.exec(inspect[3] ?? '')?.[1] ?? 9229);
    // Port 0 asks for a free port: each worker gets one of its own, as it prints.
    out.push(`--inspect${inspect[1] ?? ''}=127.0.0.1:${port === 0 ? 0 : port + workerId}`);
  }
  if (!out.includes(BOOTSTRAP)) out.push('--import', BOOTSTRAP);
  return out;
}
