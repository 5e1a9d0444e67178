import type { Balancer, Policy, Target } from './index.js';
import { MAX_PENDING } from './round-robin.js';

/**
 * Each connection goes to the worker with the fewest open connections, counting the ones
 * handed over but not yet acknowledged. Workers report their count with every batch of
 * acknowledgements, so the figure costs no extra message. Ties go to the worker that has
 * waited longest, so equal workers still take turns.
 */
function createBalancer(): Balancer {
  let turn = 0;
  return (targets) => {
    let best: Target | undefined;
    let bestLoad = Infinity;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[(turn + i) % targets.length]!;
      const load = target.connections + target.pending;
      if (target.pending < MAX_PENDING && load < bestLoad) {
        best = target;
        bestLoad = load;
      }
    }
    turn++;
    return best;
  };
}

export const leastConnections: Policy = { name: 'least-connections', transport: 'forward', createBalancer, reportsLoad: true };
