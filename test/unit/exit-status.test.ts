import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { exitStatusOf, RUN_FAILED } from '../../packages/core/src/cli/exit-status.ts';
import { clusterizeError, errorCodes, type ErrorCode } from '../../packages/core/src/errors.ts';

// Which coded errors the CLI exits 1 on and which 2 is decided in cli/exit-status.ts; the
// exit-status tables of README.md and docs/errors.md, and what docs/errors.md says of each
// code, follow it.

const status = (code: ErrorCode) => exitStatusOf(clusterizeError(code, 'detail'));
const codesIn = (text: string) => [...text.matchAll(/`(ERR_CLUSTERIZE_[A-Z_]+)`/g)].map((match) => match[1] as ErrorCode);
const read = (file: string) => readFile(new URL(`../../${file}`, import.meta.url), 'utf8');

describe('the CLI\'s exit status for a coded error', () => {
  it('is 1 for a run that failed, 2 for everything else', () => {
    expect([...RUN_FAILED].sort()).toEqual([
      'ERR_CLUSTERIZE_ADMIN_LISTEN', 'ERR_CLUSTERIZE_ADMIN_UNREACHABLE', 'ERR_CLUSTERIZE_CLUSTER_NOT_FOUND',
      'ERR_CLUSTERIZE_CONTROL_LISTEN', 'ERR_CLUSTERIZE_CONTROL_PROTOCOL', 'ERR_CLUSTERIZE_CONTROL_UNREACHABLE',
      'ERR_CLUSTERIZE_CONTROL_UNSAFE', 'ERR_CLUSTERIZE_LOGS_DROPPED', 'ERR_CLUSTERIZE_NAME_NEEDED',
      'ERR_CLUSTERIZE_NAME_TAKEN', 'ERR_CLUSTERIZE_START_FAILED',
    ]);
    for (const code of errorCodes) expect(status(code), code).toBe(RUN_FAILED.has(code) ? 1 : 2);
  });

  for (const file of ['README.md', 'docs/errors.md']) {
    it(`${file}: the exit-status table names every code of status 1 in its row, and none of them in the row of 2`, async () => {
      const text = await read(file);
      const row = (exit: number) => text.split('\n').find((line) => line.startsWith(`| ${exit} | `)) ?? '';
      expect(codesIn(row(1)).sort()).toEqual([...RUN_FAILED].sort());
      expect(codesIn(row(2)).length).toBeGreaterThan(0);
      for (const code of codesIn(row(2))) expect(status(code), code).toBe(2);
    });
  }

  it('docs/errors.md: where a code\'s row says how the CLI exits, it says the status exitStatusOf gives', async () => {
    const rows = (await read('docs/errors.md')).split('\n').filter((line) => /^\| `ERR_CLUSTERIZE_/.test(line));
    let said = 0;
    for (const row of rows) {
      const code = codesIn(row)[0]!;
      for (const [, exit] of row.matchAll(/\bexits (?:with status )?(\d)\b/gi)) {
        said++;
        expect(Number(exit), code).toBe(status(code));
      }
    }
    expect(said).toBeGreaterThanOrEqual(4);
  });
});
