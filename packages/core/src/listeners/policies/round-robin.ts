import type { Balancer, Policy } from './index.js';

/**
 * The primary accepts and hands connections to workers in turn, skipping a worker that
 * still has MAX_PENDING hand-offs unacknowledged (its event loop is busy): those wait in
 * the primary's queue for the next free worker instead.
 */
export const MAX_PENDING = 8;

function createBalancer(): Balancer {
  let next = 0;
  return (targets) => {
    for (let tried = 0; tried < targets.length; tried++) {
      const target = targets[(next + tried) % targets.length]!;
      if (target.pending < MAX_PENDING) {
        next = (next + tried + 1) % targets.length;
        return target;
      }
    }
    return undefined;
  };
}

export const roundRobin: Policy = { name: 'round-robin', transport: 'forward', createBalancer };
