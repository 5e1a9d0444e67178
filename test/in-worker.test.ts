import { describe, expect, it } from 'vitest';
import { descendants, fixture, run, within } from './helpers.ts';

describe('startCluster() in a worker', () => {
  it('a script that starts a cluster without checking its role: each worker refuses with a coded error, no process forks again', async () => {
    const primary = run([fixture('start-anywhere.mjs')]);
    let most = 0;
    const sample = () => { most = Math.max(most, descendants(primary.child.pid!).length); };
    // Sampled on every line the cluster prints and between them: a worker that started a
    // cluster of its own would show as a third process, and soon as many more.
    primary.child.stdout!.on('data', sample);
    primary.child.stderr!.on('data', sample);
    const sampler = setInterval(sample, 20);
    try {
      // Three refusals: the first two workers and at least one replacement, each named in
      // the primary's line for the worker; the last worker's output shows the code.
      await primary.waitForCount(/exited with code 1 before it was ready: Error: Not the primary: startCluster\(\) was called in a worker; guard it with `if \(!currentWorker\(\)\)`/, 3, 15_000);
      await primary.waitFor(/^ {4}code: 'ERR_CLUSTERIZE_IN_WORKER'$/m, 15_000);
      sample();
    } finally {
      clearInterval(sampler);
    }
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2);
    const exit = await within(primary.stop('SIGTERM'), 10_000, 'the primary exiting after SIGTERM');
    expect(exit.signal).toBeNull();
  });
});
