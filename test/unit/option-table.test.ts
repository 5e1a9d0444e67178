import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseCommandLine, USAGE } from '../../packages/core/src/cli/command-line.ts';
import { isWholeNumber } from '../../packages/core/src/option-row.ts';
import { optionRows } from '../../packages/core/src/option-table.ts';

const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');

/**
 * README.md's options table: each option its rows name in backquotes, with the row's default
 * cell. A row of several options has one default for all, or one each (`a` / `b` | `1` / `2`).
 */
function readmeDefaults(): Record<string, string> {
  const start = readme.indexOf('| option | default | meaning |');
  const rows = readme.slice(start, readme.indexOf('\n\n', start)).split('\n').slice(2);
  return Object.fromEntries(rows.flatMap((row) => {
    const [, names = '', shown = ''] = /^\| (.+?) \| (.+?) \| /.exec(row) ?? [];
    const options = [...names.matchAll(/`(\w+)`/g)].map((match) => match[1]!);
    const defaults = shown.split(' / ');
    return options.map((option, i) => [option, defaults.length === options.length ? defaults[i]! : shown]);
  }));
}

describe('optionTable and the docs', () => {
  it("README.md's options table has every option, and no other, with its default", () => {
    expect(readmeDefaults()).toEqual(Object.fromEntries(optionRows.map(([name, row]) => [name, row.shownDefault])));
  });

  it('--help has a line for every flag, with its value', () => {
    const flags = optionRows.flatMap(([, row]) => row.flags ?? []);
    expect(flags.length).toBeGreaterThan(0);
    for (const flag of flags) {
      const value = flag.value === undefined ? '' : 'optional' in flag ? `[=${flag.value}]` : ` ${flag.value}`;
      expect(USAGE).toMatch(new RegExp(`^ {2}${`${flag.names.join(', ')}${value}`.replaceAll(/[|[\]]/g, '\\$&')} +\\S`, 'm'));
    }
  });
});

describe('the numeric rows', () => {
  const numbers = optionRows.flatMap(([name, row]) => (isWholeNumber(row) ? [{ name, row }] : []));

  it('default to a value in their own range', () => {
    for (const { name, row } of numbers) {
      expect(row.resolve(row.default, name, { allowZeroWorkers: false, workersFromEnv: false }), name).toBe(row.default);
    }
  });

  it("each flag's help shows the row's default, and the flag sets its option", () => {
    for (const { name, row } of numbers) {
      for (const flag of row.flags ?? []) {
        expect(flag.help, flag.names.join(', ')).toContain(`(default ${row.default}`);
        const parsed = parseCommandLine([flag.names.at(-1)!, String(row.most), 'server.js']);
        expect(parsed.kind === 'run' && parsed.options[name], flag.names.join(', ')).toBe(row.most);
      }
    }
  });
});
