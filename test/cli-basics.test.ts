import { afterEach, describe, expect, it } from 'vitest';
import { pidsServing, startCli, type Running } from './helpers.ts';

let cluster: Running | undefined;
afterEach(async () => {
  await cluster?.stop('SIGKILL');
  cluster = undefined;
});

describe('clusterize CLI with an unmodified http server', () => {
  for (const policy of ['shared', 'round-robin', 'least-connections', 'reuseport']) {
    it(`spreads new connections over both workers (${policy})`, async () => {
      const started = await startCli('hello.mjs', ['--workers', '2', '--policy', policy]);
      cluster = started;
      const pids = await pidsServing(started.port, 40);
      expect(pids.size).toBe(2);
      expect(pids.has(started.child.pid!)).toBe(false);
      expect([...pids.values()].reduce((a, b) => a + b)).toBe(40);
    });
  }
});
