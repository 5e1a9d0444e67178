import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { clusterizeError, errorCodes, type ErrorCode } from '../../packages/core/src/errors.ts';

// A coded error reads `<title>: <detail>` (errors.ts): the detail says what the title does
// not, and a log line that quotes the error does not say the title again before it
// ("reload failed: Reload failed: ..." was one).

const SRC = fileURLToPath(new URL('../../packages/', import.meta.url));

async function sources(): Promise<{ file: string; text: string }[]> {
  const files = (await readdir(SRC, { recursive: true }))
    .filter((file) => /\/src\/.*\.ts$/.test(file) && !file.endsWith('.d.ts'));
  return Promise.all(files.map(async (file) => ({ file, text: await readFile(join(SRC, file), 'utf8') })));
}

const title = (code: ErrorCode) => clusterizeError(code, '').message.slice(0, -': '.length);

describe('error texts say each thing once', () => {
  it('no detail written in the code repeats its error\'s title', async () => {
    const made = /clusterize(?:(?:Type|Range)?Error|Report)\(\s*'(ERR_CLUSTERIZE_\w+)',\s*(['`])((?:\\.|(?!\2)[^\\])*)\2/g;
    let seen = 0;
    for (const { file, text } of await sources()) {
      for (const [, code, , detail] of text.matchAll(made)) {
        seen++;
        expect(detail!.toLowerCase(), `${file}: ${code}`).not.toContain(title(code as ErrorCode).toLowerCase());
      }
    }
    expect(seen).toBeGreaterThan(20);
  });

  it('no line of the code puts an error\'s title in front of a message', async () => {
    for (const { file, text } of await sources()) {
      for (const code of errorCodes) {
        const before = new RegExp(`${title(code).replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\$\\{[^}]*message`, 'i');
        expect(text, `${file}: ${title(code)}: \${...message}`).not.toMatch(before);
      }
    }
  });
});
