import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// BENCHMARKS.md is generated from a saved run (bench/report.ts); the figures its hand-written
// notes discuss are generated with the tables (bench/figures.ts), and the README quotes them.
// None of it runs a benchmark.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFile(`${ROOT}${file}`, 'utf8');
const oneLine = (text: string) => text.replaceAll(/\s+/g, ' ');

describe('BENCHMARKS.md', () => {
  it('is what its saved results make: tables and figures (node bench/rewrite.ts --check)', async () => {
    const checked = await promisify(execFile)(process.execPath, ['bench/rewrite.ts', '--check'], { cwd: ROOT, timeout: 20_000 })
      .then(() => 0, (error: { code: number; stderr: string }) => `exit ${error.code}: ${error.stderr}`);
    expect(checked).toBe(0);
  });

  it('the README quotes the figures of that run', async () => {
    const figures = oneLine(await read('BENCHMARKS.md'));
    const kernel = /kernel-balanced accept .*? serves (\S+) what node:cluster round-robin does/.exec(figures)?.[1];
    const forwarding = /clusterize round-robin and least-connections (\S+), with (\S+) its primary CPU per connection/.exec(figures);
    expect(kernel).toBeDefined();
    expect(forwarding).not.toBeNull();
    const readme = oneLine(await read('README.md'));
    expect(readme).toContain(`serves ${kernel} what node:cluster's round-robin does`);
    expect(readme).toContain(`measure ${forwarding![1]} node:cluster's round-robin, with ${forwarding![2]} its primary CPU per connection`);
  });

  it('names only npm scripts that exist, here and in the README', async () => {
    const { scripts } = JSON.parse(await read('package.json')) as { scripts: Record<string, string> };
    for (const file of ['BENCHMARKS.md', 'README.md']) {
      for (const [, script] of (await read(file)).matchAll(/npm run ([\w:-]+)/g)) expect(Object.keys(scripts), `${file}: npm run ${script}`).toContain(script);
    }
  });
});
