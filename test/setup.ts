// Runs in every test file (vitest.config.ts setupFiles): a test fails when a process it
// started printed one of clusterize's internal errors (see internal-errors.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeEach } from 'vitest';
import { takeInternalErrors, watchOutput } from './internal-errors.ts';

// npm run coverage measures the processes the tests start, never this one (see package.json):
// Node reads NODE_V8_COVERAGE when a process starts, so set here it reaches only children.
if (process.env.CLUSTERIZE_COVERAGE_DIR) process.env.NODE_V8_COVERAGE = resolve(process.env.CLUSTERIZE_COVERAGE_DIR);

// Every cluster the CLI starts takes commands on a socket in $XDG_RUNTIME_DIR/clusterize,
// named after its script. A folder of its own for each file (its beforeAll clusters) and
// each test keeps tests from seeing each other's clusters, or the user's, and two tests
// that run the same fixture at once from refusing the second as a name taken.
const runtimeDirs: string[] = [];
function freshRuntimeDir(): void {
  process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'clusterize-run-'));
  runtimeDirs.push(process.env.XDG_RUNTIME_DIR);
}
freshRuntimeDir();
beforeEach(freshRuntimeDir);
afterAll(() => {
  for (const dir of runtimeDirs) rmSync(dir, { recursive: true, force: true });
});

// A cluster started through the API in this process logs to its standard error by
// default, and relays its workers' there.
let ownStderr = '';
const write = process.stderr.write.bind(process.stderr) as (chunk: unknown, ...rest: unknown[]) => boolean;
process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  ownStderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
  return write(chunk, ...rest);
}) as typeof process.stderr.write;
watchOutput(`the test process (pid ${process.pid})`, () => ownStderr);

function failOnInternalErrors(final: boolean): void {
  const { lines, allowed } = takeInternalErrors(final);
  if (lines.length === 0 || allowed !== undefined) return;
  throw new Error(`clusterize printed an internal error (a test that provokes one says so with allowInternalErrors(reason)):\n${lines.join('\n')}`);
}

// After hooks run innermost and last-registered first: these run after the test file's own,
// which stop its processes, so what they print while stopping counts too.
afterEach(() => failOnInternalErrors(false));
afterAll(() => failOnInternalErrors(true));
