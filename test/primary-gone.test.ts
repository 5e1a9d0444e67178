import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { request, startCli, within, type Started } from './helpers.ts';

// A primary killed with SIGKILL (or by the OOM killer) cannot drain anything: its workers
// must finish what they are serving on their own, and not outlive it for long.

let cluster: Started | undefined;
let workers: number[] = [];
afterEach(async () => {
  for (const pid of workers.filter(running)) process.kill(pid, 'SIGKILL');
  workers = [];
  await cluster?.close();
  cluster = undefined;
});

const SHUTDOWN_TIMEOUT = 1_500;
/** Time after shutdownTimeout within which an orphaned worker must be gone. */
const GRACE = 2_000;

async function start(env: Record<string, string> = {}): Promise<Started> {
  const running = await startCli('orphan.mjs', ['--workers', '2', '--policy', 'shared', '--shutdown-timeout', String(SHUTDOWN_TIMEOUT)], env);
  cluster = running;
  workers = (await running.waitForCount(/^listening (\d+)$/m, 2)).map((match) => Number(match[1]));
  return running;
}

/** Whether `pid` still runs: an orphan that exited stays a zombie until init reaps it. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Resolves once none of `pids` runs; polls, as they are not our children. */
async function gone(pids: number[]): Promise<void> {
  while (pids.some(running)) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('a primary killed with SIGKILL', () => {
  it('in-flight requests are answered though the app logs to the dead pipe; the workers then exit', async () => {
    const running = await start();
    const slow = Array.from({ length: 10 }, () => request(running.port, '/slow?ms=1000'));
    await running.waitForCount(/^slow request \d+$/m, slow.length);
    running.child.kill('SIGKILL');
    await running.exited;
    const killedAt = Date.now();
    const replies = await within(Promise.all(slow), 5_000, 'answering the in-flight requests');
    expect(replies.map((reply) => reply.status)).toEqual(Array(10).fill(200));
    await within(gone(workers), SHUTDOWN_TIMEOUT + GRACE - (Date.now() - killedAt), 'every worker exiting');
  });

  it('a beforeExit hook that never settles does not keep a worker alive past shutdownTimeout', async () => {
    const running = await start({ HANG_ON_EXIT: '1' });
    running.child.kill('SIGKILL');
    await running.exited;
    await within(gone(workers), SHUTDOWN_TIMEOUT + GRACE, 'every worker exiting');
  });
});
