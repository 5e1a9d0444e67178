import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

// What npm shows of each package: the repository, homepage and issue links on its page, and
// a README whose links work there (npm renders it away from the repository, where a relative
// link goes nowhere).

const REPOSITORY = 'https://github.com/clusterize/clusterize';
const PACKAGES = ['core', 'express', 'fastify', 'koa'] as const;

interface Manifest {
  repository?: { type?: string; url?: string; directory?: string };
  homepage?: string;
  bugs?: { url?: string };
}

const read = async (path: string) => readFile(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('package.json', () => {
  for (const dir of ['', ...PACKAGES.map((name) => `packages/${name}`)]) {
    it(`${dir || 'the root'}: repository (with its folder), homepage and bugs point at the GitHub repository`, async () => {
      const manifest = JSON.parse(await read(`${dir === '' ? '' : `${dir}/`}package.json`)) as Manifest;
      expect(manifest.repository).toEqual({ type: 'git', url: `git+${REPOSITORY}.git`, ...(dir === '' ? {} : { directory: dir }) });
      expect(manifest.homepage).toBe(dir === '' ? `${REPOSITORY}#readme` : `${REPOSITORY}/tree/main/${dir}#readme`);
      expect(manifest.bugs).toEqual({ url: `${REPOSITORY}/issues` });
    });
  }
});

describe('the package READMEs', () => {
  for (const name of PACKAGES) {
    it(`@clusterize/${name}: every link is absolute, and those into the project name the GitHub repository`, async () => {
      const readme = await read(`packages/${name}/README.md`);
      const links = [...readme.matchAll(/\]\(([^)]+)\)/g)].map((match) => match[1]!);
      expect(links.length, 'a link to the project').toBeGreaterThan(0);
      for (const link of links) {
        expect(link).toMatch(/^https:\/\//);
        if (link.includes('github.com')) expect(link.startsWith(`${REPOSITORY}/`) || link.startsWith(`${REPOSITORY}#`), link).toBe(true);
      }
    });
  }
});
