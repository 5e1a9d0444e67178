import { DEFAULT_POLICY } from '@clusterize/core';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, request, startPrimary, tryListen, within, workerPids, type Started } from './helpers.ts';

let cluster: Started | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe('IPC between the primary and its workers', () => {
  for (const policy of [DEFAULT_POLICY, 'round-robin']) {
    it(`spoofed and malformed protocol messages are ignored with a warning; app messages pass (${policy})`, async () => {
      const spoofPort = await freePort();
      const running = await startPrimary('spoof-ipc.mjs', { workers: 2, policy }, { SPOOF_PORT: String(spoofPort) });
      cluster = running;
      const [, count] = (await running.waitFor(/spoofed (\d+)/));
      // Warnings are rate-limited: a line for the first of a kind, then one a second with a count.
      const warning = /clusterize: ignored (a|\d+) messages? from worker \d+ \(pid (\d+)\)/g;
      const ignored = () => {
        const perWorker = new Map<number, number>();
        for (const [, n, pid] of running.output().matchAll(warning)) perWorker.set(Number(pid), (perWorker.get(Number(pid)) ?? 0) + (n === 'a' ? 1 : Number(n)));
        return perWorker;
      };
      await within(new Promise<void>((resolve) => {
        const check = () => ([...ignored().values()].reduce((a, b) => a + b, 0) >= 2 * Number(count) ? resolve() : setTimeout(check, 50));
        check();
      }), 15_000, `warnings for ${2 * Number(count)} spoofed messages`);
      const workers = [...ignored().keys()];
      expect(workers).toHaveLength(2);
      expect([...ignored().values()]).toEqual([Number(count), Number(count)]);
      // The app's own messages reach the primary's 'message' event, and the reply reaches the app.
      for (const pid of workers) {
        await running.waitFor(new RegExp(`primary got \\{"hello":1\\} from ${pid}`));
        await running.waitFor(new RegExp(`worker ${pid} got \\{"echo":\\{"hello":1\\}\\}`));
      }
      expect(running.output()).not.toMatch(/worker \d+ got .*NODE_CLUSTERIZE/);
      expect(running.child.exitCode).toBeNull();
      expect(await tryListen(spoofPort)).toBe('listening');
      // Neither the spoofed 'draining' nor anything else took a worker out of service.
      expect(await workerPids(running.port, 2)).toEqual(new Set(workers));
    });
  }

  it("a worker drops a malformed message from the primary instead of acting on it, with one line per kind", async () => {
    const running = await startPrimary('forge-primary.mjs', { workers: 1 });
    cluster = running;
    const pidOf = async (path = '/') => (JSON.parse((await request(running.port, path)).body) as { pid: number }).pid;
    const pid = await pidOf();
    expect(await pidOf('/forge')).toBe(pid);
    await running.waitFor(/forged 1/);
    expect(await pidOf('/forge')).toBe(pid);
    await running.waitFor(/forged 2/);

    const lines = running.output().split('\n').filter((line) => line.includes('ignored a message from the primary'));
    expect(lines).toEqual([
      `clusterize: worker 1 (pid ${pid}) ignored a message from the primary: malformed 'drain': timeout must be an integer >= 0, got "now" (later ones of this kind are not logged)`,
      `clusterize: worker 1 (pid ${pid}) ignored a message from the primary: unknown act "nope" (later ones of this kind are not logged)`,
    ]);
    // The descriptor that came with a message it does not carry is closed, each time.
    expect(running.output().match(/stray descriptor closed/g)).toHaveLength(2);
    // The forged 'drain' was not acted on: the same worker serves on.
    expect(await pidOf()).toBe(pid);
    expect(running.output()).not.toMatch(/draining|exited/);
  });
});
