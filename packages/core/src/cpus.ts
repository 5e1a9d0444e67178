import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * CPUs this process may really use: the affinity mask (availableParallelism) capped by a
 * container's CPU quota, which neither os.cpus() nor the affinity mask reflects.
 */
export function availableCpus(): number {
  const quota = cgroupCpuQuota();
  const byAffinity = availableParallelism();
  return quota === undefined ? byAffinity : Math.max(1, Math.min(byAffinity, Math.floor(quota)));
}

function cgroupCpuQuota(): number | undefined {
  // cgroup v2: "max 100000" (no limit) or "<quota> <period>".
  const v2 = read('/sys/fs/cgroup/cpu.max');
  if (v2 !== undefined) {
    const [quota, period] = v2.split(/\s+/);
    return quotaOf(quota, period);
  }
  return quotaOf(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'), read('/sys/fs/cgroup/cpu/cpu.cfs_period_us'));
}

function quotaOf(quota: string | undefined, period: string | undefined): number | undefined {
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
