import { afterEach, describe, expect, it } from 'vitest';
import { startCli, workerPids, type Running } from './helpers.ts';

let cluster: Running | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe('clusterize CLI with an unmodified http server', () => {
  for (const policy of ['shared', 'round-robin', 'least-connections', 'reuseport']) {
    it(`spreads new connections over both workers (${policy})`, async () => {
      const started = await startCli('hello.mjs', ['--workers', '2', '--policy', policy]);
      cluster = started;
      // Asks until both workers answered (at most 200 connections): under shared the
      // kernel picks, and a run of sequential connections may all land on one.
      const pids = await workerPids(started.port, 2);
      expect(pids.size).toBe(2);
      expect(pids.has(started.child.pid!)).toBe(false);
    });
  }
});
