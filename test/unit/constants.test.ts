import { readdir, readFile } from 'node:fs/promises';
import * as core from '@clusterize/core';
import { describe, expect, it } from 'vitest';

// The limits and exit statuses the docs name are what @clusterize/core exports: a user who
// reads `MAX_TIMER_MS (2147483647)` can import MAX_TIMER_MS and get 2147483647.

/** Each constant the docs name: its value, and how the docs show that value next to the name at least once. */
const documented: Record<string, { value: number | string; shown: string }> = {
  MAX_TIMER_MS: { value: 2_147_483_647, shown: '2147483647' },
  MAX_SHUTDOWN_TIMEOUT_MS: { value: 2_147_423_647, shown: '2147423647' },
  MIN_READY_TIMEOUT_MS: { value: 100, shown: '(100)' },
  MIN_HEARTBEAT_TIMEOUT_MS: { value: 1_000, shown: '(1000)' },
  MAX_MESSAGE_SIZE_MB: { value: 512, shown: '(512)' },
  MAX_QUEUED: { value: 4_096, shown: '4096' },
  PROXY_HEADER_TIMEOUT_MS: { value: 5_000, shown: '5 s' },
  MIN_NODE_VERSION: { value: '22.12.0', shown: '22.12.0' },
  EXIT_NODE_INTERNALS: { value: 78, shown: 'code 78' },
  EXIT_CUT_AT_DEADLINE: { value: 3, shown: '| 3 |' },
};

/** A name in backquotes that reads as a constant: MAX_*, MIN_*, EXIT_*, or a unit at its end (*_MS, *_MB). */
const CONSTANT = /`((?:MAX|MIN|EXIT)_[A-Z0-9_]+|[A-Z][A-Z0-9_]*_(?:MS|MB))`/g;

async function docs(): Promise<{ file: string; text: string }[]> {
  const root = new URL('../../', import.meta.url);
  const files = ['README.md', ...(await readdir(new URL('docs/', root))).map((name) => `docs/${name}`),
    ...['core', 'express', 'fastify', 'koa'].map((name) => `packages/${name}/README.md`)].filter((file) => file.endsWith('.md'));
  return Promise.all(files.map(async (file) => ({ file, text: await readFile(new URL(file, root), 'utf8') })));
}

describe('the constants the docs name', () => {
  it('are the ones listed here: a constant newly named in the docs is exported and added', async () => {
    const named = new Set((await docs()).flatMap(({ text }) => [...text.matchAll(CONSTANT)].map((match) => match[1]!)));
    expect([...named].sort()).toEqual(Object.keys(documented).sort());
  });

  for (const [name, { value, shown }] of Object.entries(documented)) {
    it(`${name} is exported by @clusterize/core as ${JSON.stringify(value)}, the value the docs give`, async () => {
      expect((core as Record<string, unknown>)[name]).toBe(value);
      const lines = (await docs()).flatMap(({ text }) => text.split('\n')).filter((line) => line.includes(`\`${name}\``));
      expect(lines.some((line) => line.includes(shown)), `a line naming ${name} shows ${shown}`).toBe(true);
    });
  }
});
