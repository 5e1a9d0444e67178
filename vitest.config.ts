import { defineConfig } from 'vitest/config';

// Every test starts real processes on loopback: give them time, and run at most two files
// at once on a small machine. test/setup.ts fails a test whose processes printed an
// internal error.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
