// The environment contract between the primary and its workers: the variables the primary
// sets for each worker, what a worker reads from them, and what it does with a malformed one.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../packages/core/src/options.ts';
import { readWorkerEnv, WORKER_ENV, WORKERS_ENV, workerEnv } from '../../packages/core/src/worker-env.ts';
import { run } from '../helpers.ts';

const MB = 1024 * 1024;
const defaults = resolveOptions({ script: 'server.js', workers: 1 });

describe('the environment a primary gives each worker', () => {
  it('names each setting as it always has (scripts and the README rely on the names)', () => {
    expect(workerEnv({ shutdownTimeout: 5000, maxMessageSize: 2, metricsTimeout: 700 }, 3, 1, 4)).toEqual({
      CLUSTERIZE_WORKER_ID: '3',
      CLUSTERIZE_WORKER_SLOT: '1',
      NODE_APP_INSTANCE: '1',
      CLUSTERIZE_TOKEN_FD: '4',
      CLUSTERIZE_SHUTDOWN_TIMEOUT: '5000',
      CLUSTERIZE_MAX_MESSAGE_SIZE: String(2 * MB),
      CLUSTERIZE_METRICS_TIMEOUT: '700',
    });
    expect(WORKER_ENV).toEqual({
      id: 'CLUSTERIZE_WORKER_ID', slot: 'CLUSTERIZE_WORKER_SLOT', tokenFd: 'CLUSTERIZE_TOKEN_FD', shutdownTimeout: 'CLUSTERIZE_SHUTDOWN_TIMEOUT',
      maxMessageSize: 'CLUSTERIZE_MAX_MESSAGE_SIZE', metricsTimeout: 'CLUSTERIZE_METRICS_TIMEOUT',
    });
    expect(WORKERS_ENV).toBe('CLUSTERIZE_WORKERS');
  });

  it('reads back as the worker number, its slot, the token fd and the options the primary resolved', () => {
    expect(readWorkerEnv(workerEnv({ shutdownTimeout: 0, maxMessageSize: 512, metricsTimeout: 1 }, 12, 0, 4))).toEqual({
      id: 12, slot: 0, tokenFd: 4, shutdownTimeout: 0, maxMessageSize: 512 * MB, metricsTimeout: 1, problems: [],
    });
  });

  it("a process no primary forked is no worker, and one whose primary did not say uses the options' defaults", () => {
    const expected = { id: undefined, slot: undefined, tokenFd: undefined, shutdownTimeout: defaults.shutdownTimeout, maxMessageSize: defaults.maxMessageSize * MB, metricsTimeout: defaults.metricsTimeout, problems: [] };
    expect(readWorkerEnv({})).toEqual(expected);
    // An empty variable counts as unset.
    expect(readWorkerEnv({ CLUSTERIZE_WORKER_ID: '', CLUSTERIZE_SHUTDOWN_TIMEOUT: '' })).toEqual(expected);
  });
});

describe('a malformed value', () => {
  const plain = 'this process runs as a plain process, not a worker';
  const rows: [string, string, Record<string, unknown>, string][] = [
    ['CLUSTERIZE_WORKER_ID', 'one', { id: undefined }, `CLUSTERIZE_WORKER_ID must be a whole number >= 1, got 'one'; ${plain}`],
    ['CLUSTERIZE_WORKER_ID', '0', { id: undefined }, `CLUSTERIZE_WORKER_ID must be a whole number >= 1, got '0'; ${plain}`],
    ['CLUSTERIZE_WORKER_SLOT', '-1', { slot: undefined }, `CLUSTERIZE_WORKER_SLOT must be a whole number >= 0, got '-1'; ${plain}`],
    ['CLUSTERIZE_TOKEN_FD', '2', { tokenFd: undefined }, `CLUSTERIZE_TOKEN_FD must be a whole number >= 3, got '2'; ${plain}`],
    ['CLUSTERIZE_TOKEN_FD', ' 4', { tokenFd: undefined }, `CLUSTERIZE_TOKEN_FD must be a whole number >= 3, got ' 4'; ${plain}`],
    ['CLUSTERIZE_SHUTDOWN_TIMEOUT', '-1', { shutdownTimeout: 10_000 }, "CLUSTERIZE_SHUTDOWN_TIMEOUT must be a whole number >= 0, got '-1'; using 10000"],
    ['CLUSTERIZE_SHUTDOWN_TIMEOUT', '1e3', { shutdownTimeout: 10_000 }, "CLUSTERIZE_SHUTDOWN_TIMEOUT must be a whole number >= 0, got '1e3'; using 10000"],
    ['CLUSTERIZE_MAX_MESSAGE_SIZE', '1.5', { maxMessageSize: 16 * MB }, `CLUSTERIZE_MAX_MESSAGE_SIZE must be a whole number >= 1, got '1.5'; using ${16 * MB}`],
    ['CLUSTERIZE_MAX_MESSAGE_SIZE', '99999999999999999999', { maxMessageSize: 16 * MB },
      `CLUSTERIZE_MAX_MESSAGE_SIZE must be a whole number >= 1, got '99999999999999999999'; using ${16 * MB}`],
    ['CLUSTERIZE_METRICS_TIMEOUT', '0', { metricsTimeout: 2000 }, "CLUSTERIZE_METRICS_TIMEOUT must be a whole number >= 1, got '0'; using 2000"],
    ['CLUSTERIZE_METRICS_TIMEOUT', 'x'.repeat(100), { metricsTimeout: 2000 }, `CLUSTERIZE_METRICS_TIMEOUT must be a whole number >= 1, got '${'x'.repeat(40)}'; using 2000`],
  ];

  it.each(rows)('%s=%j is set aside with a line saying so', (name, value, read, problem) => {
    const env = { ...workerEnv(defaults, 2, 1, 4), [name]: value };
    const expected = { ...readWorkerEnv(workerEnv(defaults, 2, 1, 4)), ...read, problems: [problem] };
    expect(readWorkerEnv(env)).toEqual(expected);
  });

  it('is logged by the worker preload, which then leaves the process a plain one', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const script = "import('@clusterize/core').then(({ currentWorker }) => console.log(`a worker: ${currentWorker() !== undefined}`))";
    const child = run(['--import', '@clusterize/core/bootstrap', '-e', script], { cwd: root, env: { CLUSTERIZE_WORKER_ID: '1', CLUSTERIZE_WORKER_SLOT: '0', CLUSTERIZE_TOKEN_FD: 'four' } });
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.output()).toBe(`clusterize: worker 1 (pid ${child.child.pid}): CLUSTERIZE_TOKEN_FD must be a whole number >= 3, got 'four'; ${plain}\na worker: false\n`);
  });
});
