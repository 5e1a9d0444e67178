import { describe, expect, it } from 'vitest';
import { INTERNAL_ERROR } from '../internal-errors.ts';

// The lines test/setup.ts fails a test on: clusterize's own failures, as its sources print
// them, and not the app's errors it reports on the app's behalf.
describe('what counts as an internal error', () => {
  it.each([
    'clusterize: internal error while supervising workers: TypeError: x is undefined',
    'clusterize: internal error in the heartbeat: RangeError: y',
    'clusterize: internal error in the age check: Error: z',
    "clusterize: error handling 'listen' from worker 3: TypeError: w",
    'clusterize: worker (pid 4242): handling a message from the primary failed, the worker goes on: Error: v',
    'clusterize: worker (pid 4242): reporting load failed, the worker goes on: Error: EMFILE',
    'clusterize: worker (pid 4242): reporting readiness failed, the worker goes on: Error: u',
    '{"time":"2026-01-02T03:04:05.006Z","level":"error","event":"internal.error","pid":1,"message":"internal error in the heartbeat: RangeError: y"}',
  ])('%s', (line) => {
    expect(line).toMatch(INTERNAL_ERROR);
  });

  it.each([
    "clusterize: worker (pid 4242): a 'drain' listener failed, the worker goes on: Error: the app threw",
    'clusterize: worker (pid 4242): collecting metrics failed, the worker goes on: Error: a collector threw',
    'clusterize: worker 2 start-up failed: Error: the app threw',
    'clusterize: reload failed: worker 3 exited before it was ready',
    'Error: internal error',
    '{"time":"2026-01-02T03:04:05.006Z","level":"error","event":"worker.error","pid":1,"message":"worker (pid 4242): a \'drain\' listener failed, the worker goes on: Error: the app threw"}',
  ])('not: %s', (line) => {
    expect(line).not.toMatch(INTERNAL_ERROR);
  });
});
