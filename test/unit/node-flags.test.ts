import { describe, expect, it } from 'vitest';
import { checkNodeFlags, nodeFlagKind, splitNodeArgs } from '../../packages/core/src/node-flags.ts';
import { resolveOptions } from '../../packages/core/src/options.ts';

describe("node's flags, as node itself reads them", () => {
  it('a flag of its own whole, one that wants the next argument, or none of its own', () => {
    expect(nodeFlagKind('--inspect')).toBe('whole');
    expect(nodeFlagKind('--import=./otel.mjs')).toBe('whole');
    expect(nodeFlagKind('--max-old-space-size=100')).toBe('whole');
    expect(nodeFlagKind('--import')).toBe('needs a value');
    expect(nodeFlagKind('-r')).toBe('needs a value');
    expect(nodeFlagKind('--wrokers')).toBeUndefined();
    // V8's flags take their value after '=' only.
    expect(nodeFlagKind('--max-old-space-size')).toBe('refused');
  });

  it('checkNodeFlags passes what node takes and names what it does not', () => {
    expect(checkNodeFlags(['--enable-source-maps', '--import', './not-run-by-the-check.mjs'], 'execArgv')).toEqual(['--enable-source-maps', '--import', './not-run-by-the-check.mjs']);
    expect(() => checkNodeFlags(['--inspect=9'], 'execArgv')).toThrow(expect.objectContaining({
      code: 'ERR_CLUSTERIZE_INVALID_NODE_OPTION', message: expect.stringMatching(/node rejects --inspect=9: must be 0 or in range 1024 to 65535/),
    }));
  });

  it('--node-args splits on spaces; double quotes keep a value\'s spaces', () => {
    expect(splitNodeArgs('  --import ./otel.mjs   --title="my app" -r dotenv/config ')).toEqual(['--import', './otel.mjs', '--title=my app', '-r', 'dotenv/config']);
    expect(splitNodeArgs('')).toEqual([]);
  });
});

describe('the execArgv option', () => {
  it("is checked beyond this process's own flags: a bad flag or a missing env file is a coded error before any fork", () => {
    expect(() => resolveOptions({ execArgv: [...process.execArgv, '--bogus'] })).toThrow(expect.objectContaining({ code: 'ERR_CLUSTERIZE_INVALID_NODE_OPTION', message: expect.stringMatching(/bad option: --bogus/) }));
    expect(() => resolveOptions({ execArgv: ['--env-file=/no/such/.env'] })).toThrow(expect.objectContaining({
      code: 'ERR_CLUSTERIZE_ENV_FILE_NOT_FOUND', message: 'Env file not found: execArgv --env-file /no/such/.env does not exist',
    }));
    expect(() => resolveOptions({ execArgv: ['--test'] })).toThrow(expect.objectContaining({ code: 'ERR_CLUSTERIZE_INVALID_NODE_OPTION' }));
    expect(resolveOptions({}).execArgv).toEqual(process.execArgv);
  });
});
