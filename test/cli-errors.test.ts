import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, fixture, run, within } from './helpers.ts';

const script = fixture('hello.mjs');
const missing = join(fixture(''), 'no-such-server.mjs');

const cases: { input: string; args: string[]; code: string; names: RegExp }[] = [
  { input: '--workers 0', args: ['--workers', '0', script], code: 'INVALID_WORKERS', names: /workers .*got 0\b/ },
  { input: '--workers -1', args: ['--workers', '-1', script], code: 'INVALID_WORKERS', names: /--workers .*'-1'/ },
  { input: '--workers abc', args: ['--workers', 'abc', script], code: 'INVALID_WORKERS', names: /--workers .*'abc'/ },
  { input: '--workers without a value', args: ['--workers'], code: 'INVALID_OPTION', names: /--workers needs a value/ },
  { input: 'an unknown option', args: ['--wrokers', '2', script], code: 'UNKNOWN_OPTION', names: /'--wrokers'/ },
  { input: 'no script', args: ['--workers', '2'], code: 'MISSING_SCRIPT', names: /script/ },
  { input: 'a script that does not exist', args: [missing], code: 'SCRIPT_NOT_FOUND', names: new RegExp(missing.replaceAll('.', '\\.')) },
  { input: 'a directory as the script', args: [fixture('')], code: 'SCRIPT_NOT_FOUND', names: /fixtures/ },
  { input: 'an unknown policy', args: ['--policy', 'fastest', script], code: 'UNKNOWN_POLICY', names: /'fastest'/ },
  { input: 'a non-numeric timeout', args: ['--shutdown-timeout', 'soon', script], code: 'INVALID_OPTION', names: /--shutdown-timeout .*'soon'/ },
];

describe('clusterize CLI with bad input', () => {
  for (const { input, args, code, names } of cases) {
    it(`${input}: one line naming the problem, exit code 2, no worker started`, async () => {
      const proc = run([CLI, ...args]);
      const exit = await within(proc.exited, 5_000, 'the CLI exiting');
      expect(exit).toEqual({ code: 2, signal: null });
      // The whole output is the one error line: no "starting workers", nothing from a worker.
      expect(proc.output()).toMatch(new RegExp(`^clusterize: [^\\n]+ \\[ERR_CLUSTERIZE_${code}\\]\\n$`));
      expect(proc.output()).toMatch(names);
    });
  }
});
