import type { Balancer, Policy, Target } from './index.js';

/**
 * Every connection from one client address goes to the same worker. The address picks a
 * *slot* (a worker's place in the cluster, which its replacement inherits after a crash,
 * a reload or a recycle), by jump consistent hashing, so clients stay together across
 * worker restarts and growing from n to n+1 slots moves about 1/(n+1) of them.
 *
 * The slots hashed over are those up to the highest one with a ready worker: a slot above
 * them (a worker still starting during a scale-up, or the last slot's worker restarting)
 * is dropped the way jump hashing drops its last bucket, moving only that slot's clients,
 * spread evenly over the others. A slot below with no ready worker is hashed around
 * (REHASHES more tries with the key mixed again, then the next slots along), so its
 * clients go elsewhere until its worker is back, and nobody else moves.
 *
 * A busy worker is not skipped (round-robin skips one with MAX_PENDING hand-offs
 * unacknowledged): no other worker can serve its clients, and skipping would break the
 * stickiness the app relies on. Its connections wait in its IPC channel instead.
 */
const REHASHES = 4;

/** FNV-1a over the address's UTF-16 code units: a few multiplications, no allocation. */
export function hashAddress(address: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < address.length; i++) hash = Math.imul(hash ^ address.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** The next number of a key's pseudo-random sequence (a 32-bit linear congruential step). */
function step(key: number): number {
  return (Math.imul(key, 1664525) + 1013904223) >>> 0;
}

/** Mixes a key into an unrelated one (murmur3's finalizer), for the next try. */
function remix(key: number): number {
  key = Math.imul(key ^ (key >>> 16), 0x85ebca6b);
  key = Math.imul(key ^ (key >>> 13), 0xc2b2ae35);
  return (key ^ (key >>> 16)) >>> 0;
}

/**
 * Jump consistent hash (Lamping and Veach, 2014) in 32-bit arithmetic: the bucket in
 * [0, buckets) for `key`. From n to n+1 buckets exactly the keys that now land in the
 * new bucket move; no table, no memory.
 */
export function jumpHash(key: number, buckets: number): number {
  let bucket = -1;
  let jump = 0;
  key = remix(key);
  while (jump < buckets) {
    bucket = jump;
    key = step(key);
    jump = Math.floor((bucket + 1) * (0x1_0000_0000 / (key + 1)));
  }
  return bucket;
}

/** The ready worker holding `slot`; should an old and a new one both be routed for a moment, the old one. */
function holderOf(targets: readonly Target[], slot: number): Target | undefined {
  let holder: Target | undefined;
  for (const target of targets) {
    if (target.slot === slot && (holder === undefined || target.generation < holder.generation)) holder = target;
  }
  return holder;
}

function createBalancer(): Balancer {
  return (targets, address) => {
    if (targets.length === 0) return undefined;
    let slots = 0;
    for (const target of targets) if (target.slot >= slots) slots = target.slot + 1;
    let key = hashAddress(address);
    let slot = 0;
    for (let attempt = 0; attempt <= REHASHES; attempt++) {
      slot = jumpHash(key, slots);
      const holder = holderOf(targets, slot);
      if (holder !== undefined) return holder;
      key = remix(key);
    }
    for (let next = 1; next < slots; next++) {
      const holder = holderOf(targets, (slot + next) % slots);
      if (holder !== undefined) return holder;
    }
    return undefined;
  };
}

export const sticky: Policy = { name: 'sticky', transport: 'forward', createBalancer, byClientAddress: true, supersededBySlot: true };
