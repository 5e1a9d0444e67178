// pm2 in cluster mode, with a PM2_HOME of its own in a temporary folder so that it never
// touches a user's pm2 and its daemon (with the workers it forks, in the same process
// group) is killed whatever happens to the bench.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { atExit, start } from '../process.ts';
import type { Contender } from './index.ts';

const PM2 = createRequire(import.meta.url).resolve('pm2/bin/pm2');
const COMMAND_TIMEOUT_MS = 60_000;
const NAME = 'bench';

/** Runs a pm2 command; its environment reaches the apps it starts. */
async function pm2(home: string, args: readonly string[], env: Record<string, string> = {}): Promise<void> {
  const proc = start(process.execPath, [PM2, ...args], { ...env, PM2_HOME: home });
  const exit = await proc.finish(COMMAND_TIMEOUT_MS);
  if (exit.timedOut || exit.code !== 0) {
    const last = proc.output().trim().split('\n').slice(-3).join(' / ');
    throw new Error(`pm2 ${args.join(' ')} failed (${exit.timedOut ? 'timed out' : `exit ${exit.code ?? exit.signal}`}): ${last}`);
  }
}

/** A port no one listens on now: pm2 needs a fixed one, and its workers listen after the daemon starts. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function answers(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/`)).ok) return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`pm2's app does not answer on port ${port}: ${(error as Error).message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function daemonPid(home: string): number | null {
  try {
    return Number(readFileSync(join(home, 'pm2.pid'), 'utf8').trim()) || null;
  } catch {
    return null;
  }
}

export const pm2Cluster: Contender = {
  id: 'pm2',
  label: 'pm2 cluster mode',
  cluster: true,
  async start(app, workers) {
    const home = mkdtempSync(join(tmpdir(), 'clusterize-bench-pm2-'));
    const destroy = () => {
      const pid = daemonPid(home);
      if (pid !== null) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(home, { recursive: true, force: true });
    };
    const forget = atExit(destroy);
    const stop = async () => {
      let problem: string | null = null;
      await pm2(home, ['kill']).catch((error: Error) => { problem = error.message; });
      destroy();
      forget();
      return problem;
    };
    try {
      const port = await freePort();
      await pm2(home, ['start', app, '--name', NAME, '-i', String(workers), '--interpreter', process.execPath], { PORT: String(port) });
      await answers(port, COMMAND_TIMEOUT_MS);
      return { port, primaryPid: daemonPid(home), reload: () => pm2(home, ['reload', NAME]), stop };
    } catch (error) {
      await stop();
      throw error;
    }
  },
};
