// A worker's slot: its place in the cluster, 0 to workers - 1, which the worker that
// replaces it (after a crash, a reload, a recycle) takes over; NODE_APP_INSTANCE, as PM2
// names it, is the slot too.
import { afterEach, describe, expect, it } from 'vitest';
import { request, startCli, type Started } from './helpers.ts';

interface Seen {
  pid: number;
  id: number;
  slot: number;
  envId: string;
  envSlot: string;
  instance: string;
}

let cluster: Started | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

/** Asks until `count` workers not in `except` have answered (at most 400 requests); by pid. */
async function workers(port: number, count: number, except: ReadonlySet<number> = new Set()): Promise<Map<number, Seen>> {
  const seen = new Map<number, Seen>();
  for (let i = 0; i < 400 && seen.size < count; i++) {
    const answer = JSON.parse((await request(port)).body) as Seen;
    if (!except.has(answer.pid)) seen.set(answer.pid, answer);
  }
  if (seen.size < count) throw new Error(`only ${seen.size} of ${count} workers answered: ${JSON.stringify([...seen.values()])}`);
  return seen;
}

/** Each worker's slot, and that the API, CLUSTERIZE_WORKER_SLOT and NODE_APP_INSTANCE agree on it. */
function slotsOf(seen: Map<number, Seen>): number[] {
  for (const worker of seen.values()) {
    expect(worker.envSlot).toBe(String(worker.slot));
    expect(worker.instance).toBe(String(worker.slot));
    expect(worker.envId).toBe(String(worker.id));
  }
  return [...seen.values()].map((worker) => worker.slot).sort();
}

describe('worker slots', () => {
  it('run from 0 to workers - 1, and a worker that replaces one after a crash or in a reload takes over its slot', async () => {
    cluster = await startCli('slot-app.mjs', ['--workers', '2', '--policy', 'round-robin']);
    const first = await workers(cluster.port, 2);
    expect(slotsOf(first)).toEqual([0, 1]);

    const crashed = [...first.values()].find((worker) => worker.slot === 1)!;
    process.kill(crashed.pid, 'SIGKILL');
    const [replacement] = (await workers(cluster.port, 1, new Set(first.keys()))).values();
    expect(replacement!.slot).toBe(1);
    expect(replacement!.id).toBeGreaterThan(Math.max(...[...first.values()].map((worker) => worker.id)));

    const before = new Set([...first.keys(), replacement!.pid]);
    cluster.child.kill('SIGHUP');
    await cluster.waitFor(/reload complete/, 20_000);
    const reloaded = await workers(cluster.port, 2, before);
    expect(slotsOf(reloaded)).toEqual([0, 1]);
  });

  it('survive a recycle at maxAge', async () => {
    cluster = await startCli('slot-app.mjs', ['--workers', '2', '--policy', 'round-robin', '--max-age', '1500']);
    const first = await workers(cluster.port, 2);
    expect(slotsOf(first)).toEqual([0, 1]);
    // Both old workers were replaced for their age, one at a time.
    await cluster.waitForCount(/ms old \(maxAge 1500 ms\); replacing it/, 2, 20_000);
    const recycled = await workers(cluster.port, 2, new Set(first.keys()));
    expect(slotsOf(recycled)).toEqual([0, 1]);
  });
});
