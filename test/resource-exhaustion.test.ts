import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { request, startCli, within, type Started } from './helpers.ts';

let cluster: Started | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const FD_LIMIT = 256;

/** Asks until a request is answered, for at most `ms`. */
async function answered(port: number, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return (await request(port)).status;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
  }
}

describe('a worker out of file descriptors', () => {
  it('keeps answering heartbeats (memory is read without throwing) and serves again once it has descriptors', async () => {
    const running = await startCli('fd-starved.mjs', ['--policy', 'shared', '--workers', '2', '--heartbeat-timeout', '2000']);
    cluster = running;
    const workers = (await running.waitForCount(/^listening (\d+)$/m, 2)).map((match) => Number(match[1]));
    const crashed = running.waitFor(/clusterize: worker \d+ \(pid \d+\) .*(exited|killed|replac)/, 60_000).then((match) => {
      throw new Error(`a worker went away: ${match[0]}\n${running.output()}`);
    });
    crashed.catch(() => {});
    for (const pid of workers) {
      execFileSync('prlimit', ['--pid', String(pid), `--nofile=${FD_LIMIT}:${FD_LIMIT}`]);
      process.kill(pid, 'SIGUSR2');
      // Two heartbeats while starved: the first one is what used to crash the worker.
      const starved = running.waitForCount(new RegExp(`^ping while out of descriptors ${pid}$`, 'm'), 2, 20_000);
      await Promise.race([starved, crashed]);
      // While this worker holds every descriptor, its sibling still serves.
      expect(await within(answered(running.port, 10_000), 12_000, 'an answer while one worker is starved')).toBe(200);
      process.kill(pid, 'SIGUSR2');
      await running.waitFor(new RegExp(`^released descriptors ${pid}$`, 'm'), 10_000);
    }
    expect(await within(answered(running.port, 10_000), 12_000, 'an answer after the starvation')).toBe(200);
    expect(running.output()).not.toMatch(/clusterize: worker \d+ \(pid \d+\)/);
    expect(running.child.exitCode).toBeNull();
  });
});
