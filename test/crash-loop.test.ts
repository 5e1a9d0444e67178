import { afterEach, describe, expect, it } from 'vitest';
import { CLI, fixture, isAlive, run, sleep, type Running } from './helpers.ts';

let cluster: Running | undefined;
afterEach(async () => {
  await cluster?.stop('SIGKILL');
  cluster = undefined;
});

describe('a crash loop', () => {
  it('backs off exponentially instead of spinning, and the primary stays up and stops cleanly', async () => {
    const proc = run([CLI, '--workers', '1', fixture('crash-at-start.mjs')]);
    cluster = proc;
    await sleep(3_000);
    const delays = [...proc.output().matchAll(/starting a replacement in (\d+) ms/g)].map((m) => Number(m[1]));
    // 3 s of a worker that dies at once: about 5 restarts (100+200+400+800+1600 ms), not hundreds.
    expect(delays.length).toBeGreaterThanOrEqual(3);
    expect(delays.length).toBeLessThanOrEqual(6);
    expect(delays.slice(0, 4)).toEqual([100, 200, 400, 800]);
    expect(proc.output()).toMatch(/\(3 crashes in a row\)/);
    expect(proc.output()).toContain('cannot start: missing configuration');
    expect(isAlive(proc.child.pid!)).toBe(true);
    expect(await proc.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});
