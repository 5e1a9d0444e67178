import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The adapters' types as the READMEs use them (test/types/adapters.ts), and the typed
// topics and requests of "Working together" (test/types/working-together.ts). tsc compiles
// those files: a wrong type, or an @ts-expect-error line that stops being an error (a type that got
// looser), fails this test.
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
const project = fileURLToPath(new URL('./types/tsconfig.json', import.meta.url));

describe('the adapters\' types', () => {
  it('accept what the READMEs show and reject misspelt options, wrong apps, untyped callbacks and wrong payloads', () => {
    let output = '';
    try {
      execFileSync(process.execPath, [tsc, '--noEmit', '-p', project], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    } catch (error) {
      output = `${(error as { stdout?: string }).stdout ?? ''}${(error as { stderr?: string }).stderr ?? ''}` || String(error);
    }
    expect(output).toBe('');
  }, 120_000);
});
