import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { createCluster, errorCodes, resolveOptions, startCluster, type ClusterOptions } from '@clusterize/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, within } from './helpers.ts';

const bad: { options: unknown; name: 'TypeError' | 'RangeError'; code: string; names: RegExp }[] = [
  { options: { workers: 0 }, name: 'RangeError', code: 'ERR_CLUSTERIZE_INVALID_WORKERS', names: /workers .*got 0/ },
  { options: { workers: -1 }, name: 'RangeError', code: 'ERR_CLUSTERIZE_INVALID_WORKERS', names: /workers .*got -1/ },
  { options: { workers: 1.5 }, name: 'RangeError', code: 'ERR_CLUSTERIZE_INVALID_WORKERS', names: /workers .*got 1\.5/ },
  { options: { workers: 'many' }, name: 'TypeError', code: 'ERR_CLUSTERIZE_INVALID_WORKERS', names: /workers .*'many'/ },
  { options: { wrokers: 2 }, name: 'TypeError', code: 'ERR_CLUSTERIZE_UNKNOWN_OPTION', names: /'wrokers'/ },
  { options: { shutdownTimeout: -1 }, name: 'RangeError', code: 'ERR_CLUSTERIZE_INVALID_OPTION', names: /shutdownTimeout .*-1/ },
  { options: { shutdownTimeout: '5s' }, name: 'TypeError', code: 'ERR_CLUSTERIZE_INVALID_OPTION', names: /shutdownTimeout .*'5s'/ },
  { options: { readyTimeout: 0 }, name: 'RangeError', code: 'ERR_CLUSTERIZE_INVALID_OPTION', names: /readyTimeout .*got 0/ },
  { options: { readyTimeout: 3_000_000_000 }, name: 'RangeError', code: 'ERR_CLUSTERIZE_INVALID_OPTION', names: /readyTimeout .* to 2147483647, got 3000000000$/ },
  { options: { shutdownTimeout: 3_000_000_000 }, name: 'RangeError', code: 'ERR_CLUSTERIZE_INVALID_OPTION', names: /shutdownTimeout .*, got 3000000000$/ },
  { options: { heartbeatTimeout: 1 }, name: 'RangeError', code: 'ERR_CLUSTERIZE_INVALID_OPTION', names: /heartbeatTimeout must be 0 \(off\) or .* from 1000 .*, got 1$/ },
  { options: { policy: 'fastest' }, name: 'RangeError', code: 'ERR_CLUSTERIZE_UNKNOWN_POLICY', names: /'fastest'/ },
  { options: { policy: 5 }, name: 'TypeError', code: 'ERR_CLUSTERIZE_UNKNOWN_POLICY', names: /policy must be one of .*, got 5$/ },
  { options: { workers: '3' }, name: 'TypeError', code: 'ERR_CLUSTERIZE_INVALID_WORKERS', names: /workers .*, got '3'$/ },
  { options: 'workers=2', name: 'TypeError', code: 'ERR_CLUSTERIZE_INVALID_OPTION', names: /options must be an object/ },
];

describe('API options', () => {
  for (const { options, name, code, names } of bad) {
    const expected = expect.objectContaining({ name, code, message: expect.stringMatching(names) });
    it(`${JSON.stringify(options)}: resolveOptions throws a coded ${name}`, () => {
      expect(() => resolveOptions(options as ClusterOptions)).toThrow(expected);
    });

    it(`${JSON.stringify(options)}: startCluster rejects with a coded ${name}`, async () => {
      const withScript = typeof options === 'object' ? { script: fixture('hello.mjs'), signals: false, ...options } : options;
      await expect(startCluster(withScript as ClusterOptions)).rejects.toEqual(expected);
    });
  }
});

describe('the script', () => {
  let unreadable: string;
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clusterize-script-'));
    unreadable = join(dir, 'server.mjs');
    await writeFile(unreadable, 'import "node:http";\n');
    await chmod(unreadable, 0o000);
  });
  afterAll(() => rm(join(unreadable, '..'), { recursive: true, force: true }));

  const coded = (code: string, message: string) => expect.objectContaining({ code: `ERR_CLUSTERIZE_${code}`, message: expect.stringContaining(message) });

  it('startCluster with a missing script rejects at once, naming the path resolved against the current directory', async () => {
    const started = startCluster({ script: 'missing.js', workers: 1, signals: false });
    await expect(within(started, 2_000, 'startCluster settling')).rejects.toEqual(coded('SCRIPT_NOT_FOUND', `${resolve('missing.js')} does not exist`));
  });

  it('createCluster with a folder as the script throws', () => {
    expect(() => createCluster({ script: fixture(''), workers: 1, signals: false })).toThrow(coded('SCRIPT_NOT_FOUND', 'is not a file'));
  });

  it('a script nobody may read (mode 000) is refused, though root could read it', async () => {
    expect(() => createCluster({ script: unreadable, workers: 1, signals: false })).toThrow(coded('SCRIPT_UNREADABLE', `${unreadable}: mode 000 lets nobody read it`));
    await expect(within(startCluster({ script: unreadable, workers: 1, signals: false }), 2_000, 'startCluster settling')).rejects.toEqual(coded('SCRIPT_UNREADABLE', 'mode 000'));
  });

  it('a relative script path is resolved against the current directory', () => {
    const cluster = createCluster({ script: relative(process.cwd(), fixture('hello.mjs')), workers: 1, signals: false });
    expect(cluster.options.script).toBe(fixture('hello.mjs'));
  });
});

describe('error codes', () => {
  it('every code in errorCodes is documented in docs/errors.md, and every documented code exists', async () => {
    const doc = await readFile(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `(ERR_CLUSTERIZE_[A-Z_]+)` \|/gm)].map((match) => match[1]);
    expect(errorCodes.length).toBeGreaterThan(0);
    expect([...errorCodes].sort()).toEqual([...documented].sort());
  });
});
