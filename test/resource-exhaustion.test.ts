import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { request, startCli, until, within, workerPids, type Started } from './helpers.ts';

let cluster: Started | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const FD_LIMIT = 256;
/**
 * Every wait below is bounded: startCli() by its wait for the ready line, each other step
 * by STEP_MS (a busy machine's worst, where each takes about a second). A test's timeout is
 * the sum of its waits, so a slow run is not cut short and a stuck one names its step.
 */
const START_MS = 15_000;
const STEP_MS = 10_000;

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

// Start, the listening lines, 3 steps for each of the 2 workers, the answer after.
const STARVED_TEST_MS = START_MS + STEP_MS + 2 * 3 * STEP_MS + STEP_MS;

describe('a worker out of file descriptors', () => {
  it('keeps answering heartbeats (memory is read without throwing) and serves again once it has descriptors', async () => {
    const running = await startCli('fd-starved.mjs', ['--policy', 'shared', '--workers', '2', '--heartbeat-timeout', '2000']);
    cluster = running;
    const workers = (await running.waitForCount(/^listening (\d+)$/m, 2, STEP_MS)).map((match) => Number(match[1]));
    const crashed = running.waitFor(/clusterize: worker \d+ \(pid \d+\) .*(exited|killed|replac)/, STARVED_TEST_MS).then((match) => {
      throw new Error(`a worker went away: ${match[0]}\n${running.output()}`);
    });
    crashed.catch(() => {});
    for (const pid of workers) {
      execFileSync('prlimit', ['--pid', String(pid), `--nofile=${FD_LIMIT}:${FD_LIMIT}`]);
      process.kill(pid, 'SIGUSR2');
      // Two heartbeats while starved: the first one is what used to crash the worker.
      const starved = running.waitForCount(new RegExp(`^ping while out of descriptors ${pid}$`, 'm'), 2, STEP_MS);
      await Promise.race([starved, crashed]);
      // While this worker holds every descriptor, its sibling still serves.
      expect(await within(answered(running.port, STEP_MS), STEP_MS, 'an answer while one worker is starved')).toBe(200);
      process.kill(pid, 'SIGUSR2');
      await running.waitFor(new RegExp(`^released descriptors ${pid}$`, 'm'), STEP_MS);
    }
    expect(await within(answered(running.port, STEP_MS), STEP_MS, 'an answer after the starvation')).toBe(200);
    expect(running.output()).not.toMatch(/clusterize: worker \d+ \(pid \d+\)/);
    expect(running.child.exitCode).toBeNull();
  }, STARVED_TEST_MS);
});

/** Open descriptors of a process, from /proc. */
function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The held connections wait for a worker that was stopped, and the fork's retries back off. */
const HELD_MS = 2 * STEP_MS;
const RETRIED_MS = 3 * STEP_MS;

describe('a primary out of file descriptors (round-robin)', () => {
  it('survives forking a replacement while it cannot open a pipe, retries with backoff, and serves every held connection once descriptors free up', async () => {
    const running = await startCli('fd-starved.mjs', ['--policy', 'round-robin', '--workers', '2']);
    cluster = running;
    const primary = running.child.pid!;
    const [first, second] = (await running.waitForCount(/^listening (\d+)$/m, 2, STEP_MS)).map((match) => Number(match[1]));
    // Stopped workers acknowledge nothing, so the primary keeps every connection it accepts.
    process.kill(first!, 'SIGSTOP');
    process.kill(second!, 'SIGSTOP');
    // Room for the held connections and 4 more descriptors: a fork needs about 8 (three
    // pipes and the IPC socket pair). More connections than fit would meet libuv's EMFILE
    // handling, which accepts and closes them at once, as in any Node.js server.
    const held = 8;
    const base = openFds(primary);
    const limit = base + held + 4;
    execFileSync('prlimit', ['--pid', String(primary), `--nofile=${limit}:${limit}`]);
    const clients = Array.from({ length: held }, () => request(running.port));
    for (const client of clients) client.catch(() => {});
    await until(() => openFds(primary) >= base + held, STEP_MS, 'the primary holding every connection');
    // A replacement fork now needs pipes the primary cannot open.
    process.kill(first!, 'SIGKILL');
    await running.waitFor(/clusterize: worker \d+ could not be started: spawn \S+ EMFILE; starting a replacement in \d+ ms/, STEP_MS);
    expect(running.child.exitCode).toBeNull();
    // The surviving worker takes the held connections; descriptors free up; the fork is retried.
    process.kill(second!, 'SIGCONT');
    const replies = await within(Promise.all(clients), HELD_MS, 'every held connection answered');
    expect(replies.map((reply) => reply.status)).toEqual(Array(clients.length).fill(200));
    // The fork is retried with backoff: ask until a second worker answers (bounded).
    let serving = new Set<number>();
    for (const deadline = Date.now() + RETRIED_MS; serving.size < 2 && Date.now() < deadline;) serving = await workerPids(running.port, 2, 20);
    expect(serving.size).toBe(2);
    expect(serving.has(first!)).toBe(false);
    expect(running.child.exitCode).toBeNull();
  }, START_MS + 3 * STEP_MS + HELD_MS + RETRIED_MS);
});
