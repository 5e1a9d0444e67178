import { readFile } from 'node:fs/promises';
import { errorCodes, resolveOptions, startCluster, type ClusterOptions } from '@clusterize/core';
import { describe, expect, it } from 'vitest';
import { fixture } from './helpers.ts';

const bad: { options: unknown; name: 'TypeError' | 'RangeError'; code: string; names: RegExp }[] = [
  { options: { workers: 0 }, name: 'RangeError', code: 'ERR_CLUSTERIZE_INVALID_WORKERS', names: /workers .*got 0/ },
  { options: { workers: -1 }, name: 'RangeError', code: 'ERR_CLUSTERIZE_INVALID_WORKERS', names: /workers .*got -1/ },
  { options: { workers: 1.5 }, name: 'RangeError', code: 'ERR_CLUSTERIZE_INVALID_WORKERS', names: /workers .*got 1\.5/ },
  { options: { workers: 'many' }, name: 'TypeError', code: 'ERR_CLUSTERIZE_INVALID_WORKERS', names: /workers .*'many'/ },
  { options: { wrokers: 2 }, name: 'TypeError', code: 'ERR_CLUSTERIZE_UNKNOWN_OPTION', names: /'wrokers'/ },
  { options: { shutdownTimeout: -1 }, name: 'RangeError', code: 'ERR_CLUSTERIZE_INVALID_OPTION', names: /shutdownTimeout .*-1/ },
  { options: { shutdownTimeout: '5s' }, name: 'TypeError', code: 'ERR_CLUSTERIZE_INVALID_OPTION', names: /shutdownTimeout .*'5s'/ },
  { options: { readyTimeout: 0 }, name: 'RangeError', code: 'ERR_CLUSTERIZE_INVALID_OPTION', names: /readyTimeout .*got 0/ },
  { options: { policy: 'fastest' }, name: 'RangeError', code: 'ERR_CLUSTERIZE_UNKNOWN_POLICY', names: /'fastest'/ },
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

describe('error codes', () => {
  it('every code in errorCodes is documented in docs/errors.md, and every documented code exists', async () => {
    const doc = await readFile(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `(ERR_CLUSTERIZE_[A-Z_]+)` \|/gm)].map((match) => match[1]);
    expect(errorCodes.length).toBeGreaterThan(0);
    expect([...errorCodes].sort()).toEqual([...documented].sort());
  });
});
