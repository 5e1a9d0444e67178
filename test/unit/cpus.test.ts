import { describe, expect, it } from 'vitest';
import { cpuQuota, usableCpus } from '../../packages/core/src/cpus.ts';

describe('cpuQuota: the CPUs a cgroup allows, from its files', () => {
  it('cgroup v2 cpu.max', () => {
    expect(cpuQuota('max 100000')).toBeUndefined();
    expect(cpuQuota('150000 100000')).toBe(1.5);
    expect(cpuQuota('50000 100000')).toBe(0.5);
    expect(cpuQuota('200000 100000\n')).toBe(2);
  });

  it('cgroup v1 cfs_quota_us / cfs_period_us', () => {
    expect(cpuQuota(undefined, '-1', '100000')).toBeUndefined();
    expect(cpuQuota(undefined, '300000', '100000')).toBe(3);
    expect(cpuQuota(undefined, '300000\n', '100000\n')).toBe(3);
  });

  it('v2 wins over v1 when both exist', () => {
    expect(cpuQuota('max 100000', '300000', '100000')).toBeUndefined();
    expect(cpuQuota('100000 100000', '300000', '100000')).toBe(1);
  });

  it('nothing readable or nonsense: no limit', () => {
    expect(cpuQuota(undefined, undefined, undefined)).toBeUndefined();
    expect(cpuQuota('')).toBeUndefined();
    expect(cpuQuota('garbage')).toBeUndefined();
    expect(cpuQuota(undefined, '100000', '0')).toBeUndefined();
  });
});

describe('usableCpus: the affinity mask capped by the quota', () => {
  it('no quota: the affinity mask', () => {
    expect(usableCpus(8, undefined)).toBe(8);
  });

  it('a quota below the mask caps it, rounded down, never below 1', () => {
    expect(usableCpus(8, 2)).toBe(2);
    expect(usableCpus(8, 1.5)).toBe(1);
    expect(usableCpus(8, 0.5)).toBe(1);
  });

  it('a quota above the mask does not raise it', () => {
    expect(usableCpus(2, 16)).toBe(2);
  });
});
