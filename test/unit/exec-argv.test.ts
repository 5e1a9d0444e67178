import { describe, expect, it } from 'vitest';
import { workerExecArgv } from '../../packages/core/src/supervision/exec-argv.ts';

const preload = ['--import', new URL('../../packages/core/src/worker/bootstrap.js', import.meta.url).href];

describe("workerExecArgv: the workers' Node.js flags", () => {
  it("keeps the primary's flags and preloads the worker runtime once", () => {
    expect(workerExecArgv(['--import', 'tsx', '--enable-source-maps'], 1)).toEqual(['--import', 'tsx', '--enable-source-maps', ...preload]);
    expect(workerExecArgv(workerExecArgv([], 1), 2)).toEqual(preload);
  });

  it('gives each worker a debugger port of its own on loopback', () => {
    expect(workerExecArgv(['--inspect'], 1)).toEqual(['--inspect=127.0.0.1:9230', ...preload]);
    expect(workerExecArgv(['--inspect-brk=9300'], 2)).toEqual(['--inspect-brk=127.0.0.1:9302', ...preload]);
    expect(workerExecArgv(['--inspect-wait=0.0.0.0:9400'], 3)).toEqual(['--inspect-wait=127.0.0.1:9403', ...preload]);
  });

  it('keeps port 0 (any free port) as it is: each worker gets its own', () => {
    expect(workerExecArgv(['--inspect=0'], 4)).toEqual(['--inspect=127.0.0.1:0', ...preload]);
  });

  it('leaves flags that only look like --inspect alone', () => {
    expect(workerExecArgv(['--inspect-port=9229', '--no-inspect'], 1)).toEqual(['--inspect-port=9229', '--no-inspect', ...preload]);
  });
});
