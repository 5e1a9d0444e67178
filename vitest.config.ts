import { defineConfig } from 'vitest/config';

// Every test starts real processes on loopback: give them time, and run three files at
// once (on 2 cores the suite keeps the CPU busy either way: 331 s against 396 s with two,
// 813 tests, the same run). test/setup.ts fails a test whose processes printed an
// internal error.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 3,
  },
});
