// Writes BENCHMARKS.md again from a full run's saved results, running nothing: the tables,
// the figures the notes discuss (bench/figures.ts), and the hand-written notes as they are.
// `node bench/rewrite.ts [bench/results/<run>.json]` (default: the latest full run);
// `--check` writes nothing and exits 1 when BENCHMARKS.md is not what the results make.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BENCHMARKS_MD, benchmarksMarkdown, notesOf, type BenchResults } from './report.ts';

const { values, positionals } = parseArgs({ options: { check: { type: 'boolean', default: false } }, allowPositionals: true });
const from = positionals[0] ?? new URL('./results/latest.json', import.meta.url);
const results = JSON.parse(readFileSync(from, 'utf8')) as BenchResults;
if (results.mode !== 'full') throw new Error(`${String(from)} holds a ${results.mode} run; BENCHMARKS.md shows full runs only`);
const now = readFileSync(BENCHMARKS_MD, 'utf8');
const made = benchmarksMarkdown(results, notesOf(now));
if (values.check) {
  if (made !== now) {
    process.stderr.write('BENCHMARKS.md is not what its results make: run node bench/rewrite.ts\n');
    process.exitCode = 1;
  }
} else {
  writeFileSync(BENCHMARKS_MD, made);
}
