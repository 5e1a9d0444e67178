import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { availableCpus, cpuQuota } from '@clusterize/core';
import { afterEach, describe, expect, it } from 'vitest';
import { startCli, workerPids, type Running } from './helpers.ts';

/** cpu.max of this process's cgroup v2 (quota / period), or undefined without a limit. */
function cgroupQuota(): number | undefined {
  try {
    const group = readFileSync('/proc/self/cgroup', 'utf8').match(/^0::(.*)$/m)?.[1];
    if (group === undefined) return undefined;
    const [quota, period] = readFileSync(`/sys/fs/cgroup${group}/cpu.max`, 'utf8').trim().split(' ');
    return quota === 'max' ? undefined : Number(quota) / Number(period);
  } catch {
    return undefined;
  }
}

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

  it('--workers auto starts one worker per usable CPU (nproc, capped by the cgroup quota)', async () => {
    // Worked out here without clusterize's code: the affinity mask as nproc reports it,
    // capped by cgroup v2's cpu.max when this process has one.
    const affinity = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
    const expected = Math.max(1, Math.min(affinity, Math.floor(cgroupQuota() ?? Infinity)));
    const started = await startCli('hello.mjs', ['--workers', 'auto']);
    cluster = started;
    expect(started.output()).toContain(`starting ${expected} worker`);
    const pids = await workerPids(started.port, availableCpus() + 1, 100 * availableCpus());
    expect(pids.size).toBe(availableCpus());
  });
});
