/**
 * How far above the cluster's mean of open connections a worker may go by accepting on its
 * own, before it hands new connections to the primary to place (shared and reuseport).
 *
 * The kernel gives a burst of connections to whichever worker has the CPU, and a proxy's
 * pool of persistent connections is exactly such a burst, which then lasts for hours. A
 * worker at its cap passes further connections back; the primary gives each to the worker
 * with the fewest, counting the sender's count as it reports it with the connection. The
 * cap follows the recent peak of the mean with slack (see PeakMean), so that short
 * connections, whose counts swing, rarely pay the extra hop, while from an idle cluster
 * (mean 0) a burst is placed by the primary after the first few. What the cap lets
 * through while it is stale is rebalanced below.
 */
const CAP_RATIO = 1.25;
const CAP_SLACK = 2;

/** The cap for each of `workers` routable workers with a mean of `mean` open connections; null: no cap. */
export function acceptCap(mean: number, workers: number): number | null {
  if (workers < 2) return null;
  return Math.ceil(mean * CAP_RATIO) + CAP_SLACK;
}

/**
 * The mean a cap follows: the current one, or the highest recent one decaying with a
 * half-life of MEAN_HALF_LIFE_MS, whichever is higher. With a new connection per request,
 * the counts workers report swing from near 0 to all of them within milliseconds; a cap
 * that followed every dip would send a share of such connections through the primary.
 */
export const MEAN_HALF_LIFE_MS = 500;

export class PeakMean {
  private peak = 0;
  private at = 0;

  update(mean: number, now: number): number {
    const decayed = this.peak * 2 ** (-(now - this.at) / MEAN_HALF_LIFE_MS);
    if (mean >= decayed) {
      this.peak = mean;
      this.at = now;
      return mean;
    }
    return decayed;
  }
}

/**
 * Rebalancing. Connections that are already open stay where they are: after a reload or a
 * scale-up, or a burst that reached a worker while its cap was high, a proxy's pool can
 * stay skewed for hours. A worker at least SHED_EXCESS connections and SHED_RATIO x above
 * the mean for REBALANCE_AFTER_MS is asked to close that many keep-alive connections after
 * their current response, and to pass back as many new connections as it closed while it
 * is above the mean (for at most SHED_HOLD_MS), so that the proxy's reopened connections
 * land on the others. The pass-backs are bounded by what it closed: a false alarm with
 * short connections costs a few hops, not seconds of them.
 */
const SHED_RATIO = 1.1;
const SHED_EXCESS = 2;
export const REBALANCE_AFTER_MS = 300;
export const SHED_HOLD_MS = 2_000;

/** How many connections a worker with `connections` should shed (0: it is within its share). */
export function excessOf(connections: number, total: number, workers: number): number {
  if (workers < 2) return 0;
  const mean = total / workers;
  const excess = connections - Math.ceil(mean);
  return excess >= SHED_EXCESS && connections > mean * SHED_RATIO ? excess : 0;
}
