import { availableParallelism } from 'node:os';
import { availableCpus, cpuQuota } from '@clusterize/core';
import { afterEach, describe, expect, it } from 'vitest';
import { startCli, workerPids, type Running } from './helpers.ts';

let cluster: Running | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe("workers: 'auto'", () => {
  it('reads a container CPU quota from cgroup v2 and v1', () => {
    expect(cpuQuota('max 100000')).toBeUndefined();
    expect(cpuQuota('150000 100000')).toBe(1.5);
    expect(cpuQuota('50000 100000')).toBe(0.5);
    expect(cpuQuota(undefined, '-1', '100000')).toBeUndefined();
    expect(cpuQuota(undefined, '300000', '100000')).toBe(3);
    expect(cpuQuota(undefined, undefined, undefined)).toBeUndefined();
  });

  it('never exceeds the CPUs this process may run on', () => {
    expect(availableCpus()).toBeGreaterThanOrEqual(1);
    expect(availableCpus()).toBeLessThanOrEqual(availableParallelism());
  });

  it('--workers auto starts one worker per usable CPU', async () => {
    const started = await startCli('hello.mjs', ['--workers', 'auto']);
    cluster = started;
    expect(started.output()).toContain(`starting ${availableCpus()} worker`);
    const pids = await workerPids(started.port, availableCpus() + 1, 100 * availableCpus());
    expect(pids.size).toBe(availableCpus());
  });
});
