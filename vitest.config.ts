import { defineConfig } from 'vitest/config';

// Every test starts real processes on loopback: give them time, and run at most two files
// at once on a small machine.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
