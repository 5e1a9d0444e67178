import { describe, expect, it } from 'vitest';
import { hashAddress, jumpHash } from '../../packages/core/src/listeners/policies/sticky.ts';

const keys = Array.from({ length: 20_000 }, (_, i) => hashAddress(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`));

describe('sticky hashing: client address to slot', () => {
  for (const slots of [2, 3, 8]) {
    it(`spreads addresses evenly over ${slots} slots (each within 5% of its share)`, () => {
      const counts = new Array<number>(slots).fill(0);
      for (const key of keys) counts[jumpHash(key, slots)]!++;
      for (const count of counts) expect(Math.abs(count / (keys.length / slots) - 1)).toBeLessThan(0.05);
    });

    it(`from ${slots} to ${slots + 1} slots, only about 1/${slots + 1} of the addresses move, all to the new slot`, () => {
      const moved = keys.filter((key) => jumpHash(key, slots + 1) !== jumpHash(key, slots));
      expect(moved.every((key) => jumpHash(key, slots + 1) === slots)).toBe(true);
      expect(Math.abs(moved.length / keys.length - 1 / (slots + 1))).toBeLessThan(0.02);
    });
  }
});
