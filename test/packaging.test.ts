import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, within, workerPids, type Running } from './helpers.ts';

// The packages as a user gets them from the registry: `npm pack` each workspace, check what
// the tarballs hold, then install them into a project outside this repository and run the
// example of each package's README there, as a user would.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NAMES = ['core', 'express', 'fastify', 'koa'] as const;
type Name = (typeof NAMES)[number];

interface Packed {
  filename: string;
  files: { path: string }[];
}

let dir: string;
const tarballs = new Map<Name, string>();
const contents = new Map<Name, string[]>();
const running: Running[] = [];

/** Runs npm (as installed next to this Node.js or on PATH); bounded, output returned. */
function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', timeout: 240_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'clusterize-pack-'));
  const packed = JSON.parse(npm(['pack', '--json', '--workspaces', '--pack-destination', dir], ROOT)) as Packed[];
  for (const [i, name] of NAMES.entries()) {
    const entry = packed.find((p) => p.filename.startsWith(`clusterize-${name}-`));
    if (entry === undefined) throw new Error(`npm pack made no tarball for @clusterize/${name} (got ${packed.map((p) => p.filename).join(', ')}, #${i})`);
    tarballs.set(name, join(dir, entry.filename));
    contents.set(name, entry.files.map((file) => file.path));
  }
}, 240_000);

afterAll(async () => {
  await Promise.all(running.map((proc) => proc.stop('SIGKILL')));
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('the tarballs', () => {
  it('ship LICENSE, README, the built code and the sources its maps point at, and no build state', () => {
    for (const name of NAMES) {
      const files = contents.get(name)!;
      expect(files, name).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts']));
      expect(files.filter((file) => file.includes('tsbuildinfo')), name).toEqual([]);
      const shipped = new Set(files);
      // Unpacked once: one tar per file read would unzip the whole tarball each time.
      const unpacked = join(dir, `unpacked-${name}`);
      mkdirSync(unpacked);
      execFileSync('tar', ['-xzf', tarballs.get(name)!, '-C', unpacked]);
      const read = (file: string) => readFileSync(join(unpacked, 'package', file), 'utf8');
      for (const map of files.filter((file) => file.endsWith('.map'))) {
        for (const source of (JSON.parse(read(map)) as { sources: string[] }).sources) {
          const target = join(dirname(map), source);
          expect(shipped.has(target), `${name}: ${map} points at ${target}`).toBe(true);
        }
      }
      const readme = read('README.md');
      expect(readme, `${name}: links into the repository break on the registry`).not.toMatch(/\]\(\.\.?\//);
    }
    expect(contents.get('core')).toContain('bin/clusterize.js');
  });
});

describe('installed into a project outside the repository', () => {
  let project: string;

  beforeAll(() => {
    project = join(dir, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
    npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...NAMES.map((name) => tarballs.get(name)!), 'express@5', 'fastify@5', 'koa@3'], project);
  }, 240_000);

  /** The first ```js block of the installed package's README, on port 0 with 2 workers. */
  function readmeExample(name: Name): string {
    const readme = readFileSync(join(project, 'node_modules', '@clusterize', name, 'README.md'), 'utf8');
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    if (code === undefined) throw new Error(`no js example in @clusterize/${name}'s README`);
    return code.replaceAll('workers: 4', 'workers: 2').replace(/listen\(3000/, 'listen(0').replace(/port: 3000/, 'port: 0');
  }

  async function serve(args: string[], port: RegExp): Promise<{ proc: Running; port: number }> {
    const proc = run(args, { cwd: project });
    running.push(proc);
    const match = await proc.waitFor(port, 30_000);
    return { proc, port: Number(match[1]) };
  }

  it.each(['express', 'fastify', 'koa'] as const)('the README example of @clusterize/%s serves from two workers and drains on SIGTERM', async (name) => {
    writeFileSync(join(project, `${name}.mjs`), readmeExample(name));
    // Express and Koa print the address object; Fastify logs "Server listening at http://...".
    const { proc, port } = await serve([`${name}.mjs`], /(?:port: |listening at http:\/\/[^\s"]+:)(\d+)/);
    // Fastify's line comes from a worker, maybe before the other is ready, and under shared the
    // kernel picks the worker of each connection: ask until both have answered (bounded).
    const pids = new Set<number>();
    for (const deadline = Date.now() + 20_000; pids.size < 2 && Date.now() < deadline;) {
      for (const pid of await workerPids(port, 2)) pids.add(pid);
    }
    expect(pids.size).toBe(2);
    expect(await within(proc.stop('SIGTERM'), 15_000, 'the primary exiting')).toEqual({ code: 0, signal: null });
  });

  it('node_modules/.bin/clusterize is this repository\'s CLI and runs an unmodified server', async () => {
    const bin = resolve(project, 'node_modules/.bin/clusterize');
    const version = (JSON.parse(readFileSync(join(ROOT, 'packages/core/package.json'), 'utf8')) as { version: string }).version;
    expect(execFileSync(process.execPath, [bin, '--version'], { cwd: project, encoding: 'utf8' }).trim()).toBe(version);
    writeFileSync(join(project, 'server.mjs'), [
      "import http from 'node:http';",
      'http.createServer((req, res) => res.end(JSON.stringify({ pid: process.pid }))).listen(0, \'127.0.0.1\');',
    ].join('\n'));
    const { proc, port } = await serve([bin, '--workers', '2', 'server.mjs'], /workers ready on [\d.]+:(\d+)/);
    // Fastify's line comes from a worker, maybe before the other is ready, and under shared the
    // kernel picks the worker of each connection: ask until both have answered (bounded).
    const pids = new Set<number>();
    for (const deadline = Date.now() + 20_000; pids.size < 2 && Date.now() < deadline;) {
      for (const pid of await workerPids(port, 2)) pids.add(pid);
    }
    expect(pids.size).toBe(2);
    expect(await within(proc.stop('SIGTERM'), 15_000, 'the primary exiting')).toEqual({ code: 0, signal: null });
  });
});
