import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { assertSupportedNode, checkNodeVersion, MIN_NODE_VERSION } from '../../packages/core/src/node-version.ts';

describe('checkNodeVersion', () => {
  it('accepts the minimum and anything newer', () => {
    for (const version of [MIN_NODE_VERSION, '22.12.1', '22.13.0', '23.0.0', '24.21.0', 'v24.0.0', '100.0.0']) {
      expect(checkNodeVersion(version)).toBeUndefined();
    }
  });

  it('refuses anything older with a coded error naming both versions', () => {
    for (const version of ['22.11.0', '22.0.0', '20.20.2', 'v18.19.1', '21.99.99']) {
      expect(checkNodeVersion(version)).toEqual(expect.objectContaining({
        code: 'ERR_CLUSTERIZE_UNSUPPORTED_NODE',
        message: `Unsupported Node.js version: needs ${MIN_NODE_VERSION} or newer, this is ${version.replace(/^v/, '')}`,
      }));
    }
  });

  it('assertSupportedNode, which importing the library runs first, throws the same error', () => {
    expect(() => assertSupportedNode(MIN_NODE_VERSION)).not.toThrow();
    expect(() => assertSupportedNode('20.20.2')).toThrow(checkNodeVersion('20.20.2')!.message);
  });

  it('MIN_NODE_VERSION is what package.json engines says', async () => {
    for (const file of ['../../package.json', '../../packages/core/package.json']) {
      const pkg = JSON.parse(await readFile(new URL(file, import.meta.url), 'utf8')) as { engines: { node: string } };
      expect(pkg.engines.node).toBe(`>=${MIN_NODE_VERSION}`);
    }
  });
});
