import { describe, expect, it } from 'vitest';
import { acceptCap, excessOf, MEAN_HALF_LIFE_MS, PeakMean } from '../../packages/core/src/listeners/fair-share.ts';

describe('acceptCap', () => {
  it('leaves a lone worker uncapped', () => {
    expect(acceptCap(0, 1)).toBeNull();
    expect(acceptCap(500, 1)).toBeNull();
  });

  it('lets an idle cluster place a burst after the first few connections', () => {
    expect(acceptCap(0, 2)).toBe(2);
    expect(acceptCap(0, 8)).toBe(2);
  });

  it('follows the mean with slack, so short connections swinging around it rarely pay a hop', () => {
    expect(acceptCap(10, 2)).toBe(15);
    expect(acceptCap(25, 4)).toBe(34);
  });
});

describe('PeakMean', () => {
  it('rises with the mean at once and falls back by half every half-life', () => {
    const peak = new PeakMean();
    expect(peak.update(10, 0)).toBe(10);
    expect(peak.update(2, MEAN_HALF_LIFE_MS)).toBe(5);
    expect(peak.update(2, 2 * MEAN_HALF_LIFE_MS)).toBe(2.5);
    expect(peak.update(12, 2 * MEAN_HALF_LIFE_MS)).toBe(12);
    expect(peak.update(0, 10 * MEAN_HALF_LIFE_MS)).toBeCloseTo(12 / 2 ** 8);
  });
});

describe('excessOf', () => {
  it('is 0 within the share, for a lone worker and for small swings', () => {
    expect(excessOf(20, 20, 1)).toBe(0);
    expect(excessOf(11, 20, 2)).toBe(0);
    expect(excessOf(3, 4, 2)).toBe(0);
  });

  it('is what lies above the mean once a worker is 2 and 10% above it', () => {
    expect(excessOf(12, 20, 2)).toBe(2);
    expect(excessOf(20, 20, 2)).toBe(10);
    // A scale-up from 2 to 3 with a pool of 21: each old worker gives up what the new one lacks.
    expect(excessOf(11, 21, 3)).toBe(4);
    expect(excessOf(10, 21, 3)).toBe(3);
  });
});
