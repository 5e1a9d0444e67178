import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileWatcher, isWatched } from '../../packages/core/src/supervision/file-watcher.ts';
import { until } from '../helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'clusterize-file-watcher-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('which changes count under a watched folder', () => {
  it('code and configuration, not dependencies, git, logs or editors\' files', () => {
    for (const path of ['src/app.mjs', 'a.js', 'b.cjs', 'c.ts', 'd.tsx', 'config.json', '.env', '.env.local', 'prod.env']) expect(isWatched(path), path).toBe(true);
    for (const path of ['node_modules/x/index.js', '.git/config.json', 'app.log', 'data.sqlite', '.app.mjs.swp', 'app.mjs~', '.#app.mjs', '4913', 'app.mjs.tmp']) expect(isWatched(path), path).toBe(false);
  });
});

describe('FileWatcher', () => {
  it('sees a file written, replaced by a rename, and in a folder created after it started; never node_modules', async () => {
    const dir = join(root, 'tree');
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    writeFileSync(join(dir, 'app.mjs'), '1');
    const changes: string[] = [];
    const watcher = new FileWatcher((path) => changes.push(path), (folder, error) => { throw error; });
    watcher.add(dir);
    try {
      const seen = async (path: string) => until(() => changes.includes(path), 5_000, `a change to ${path}`);
      writeFileSync(join(dir, 'node_modules', 'dep.js'), '1');
      writeFileSync(join(dir, 'app.mjs'), '2');
      await seen(join(dir, 'app.mjs'));
      changes.length = 0;
      writeFileSync(join(dir, 'app.mjs.tmp'), '3');
      renameSync(join(dir, 'app.mjs.tmp'), join(dir, 'app.mjs'));
      await seen(join(dir, 'app.mjs'));
      mkdirSync(join(dir, 'lib'));
      await seen(join(dir, 'lib'));
      writeFileSync(join(dir, 'lib', 'util.ts'), 'export {}');
      await seen(join(dir, 'lib', 'util.ts'));
      expect(changes.filter((path) => path.includes('node_modules') || path.endsWith('.tmp'))).toEqual([]);
    } finally {
      watcher.close();
    }
  });

  it('a file named on its own is watched through its folder, whatever its name, and its neighbours are not', async () => {
    const dir = join(root, 'single');
    mkdirSync(dir);
    const file = join(dir, 'settings.yaml');
    writeFileSync(file, 'a: 1');
    const changes: string[] = [];
    const watcher = new FileWatcher((path) => changes.push(path), (folder, error) => { throw error; });
    watcher.add(file);
    try {
      writeFileSync(join(dir, 'other.js'), '1');
      writeFileSync(file, 'a: 2');
      await until(() => changes.includes(file), 5_000, 'a change to settings.yaml');
      expect(changes.filter((path) => path !== file)).toEqual([]);
    } finally {
      watcher.close();
    }
  });
});
