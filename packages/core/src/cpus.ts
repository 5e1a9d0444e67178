import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * CPUs this process may really use: the affinity mask (availableParallelism) capped by a
 * container's CPU quota, which neither os.cpus() nor the affinity mask reflects.
 */
export function availableCpus(): number {
  return usableCpus(availableParallelism(), cgroupCpuQuota());
}

/** CPUs in the affinity mask, capped by a quota (whole CPUs, at least one). */
export function usableCpus(byAffinity: number, quota: number | undefined): number {
  return quota === undefined ? byAffinity : Math.max(1, Math.min(byAffinity, Math.floor(quota)));
}

function cgroupCpuQuota(): number | undefined {
  return cpuQuota(read('/sys/fs/cgroup/cpu.max'), read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'), read('/sys/fs/cgroup/cpu/cpu.cfs_period_us'));
}

/**
 * CPUs a cgroup allows, from cgroup v2's cpu.max ("max 100000" = no limit, or
 * "<quota> <period>") or else cgroup v1's cfs_quota_us / cfs_period_us (-1 = no limit).
 */
export function cpuQuota(v2CpuMax: string | undefined, v1Quota?: string, v1Period?: string): number | undefined {
  if (v2CpuMax !== undefined) {
    const [quota, period] = v2CpuMax.split(/\s+/);
    return ratio(quota, period);
  }
  return ratio(v1Quota, v1Period);
}

function ratio(quota: string | undefined, period: string | undefined): number | undefined {
  const q = Number(quota);
  const p = Number(period);
  return Number.isFinite(q) && Number.isFinite(p) && q > 0 && p > 0 ? q / p : undefined;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}
