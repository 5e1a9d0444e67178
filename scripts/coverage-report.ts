// Reports the coverage that the processes started by the tests wrote (npm run coverage sets
// NODE_V8_COVERAGE for them only, see test/setup.ts), mapped through the build's source
// maps to packages/*/src, as Istanbul counts it: a line is a line that holds a statement of
// the built code, so types, comments and blank lines count neither way. A source no process
// loaded counts at 0%, from its build output.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoverageReport } from 'monocart-coverage-reports';

const [dataDir = 'coverage/tmp', outputDir = 'coverage/report'] = process.argv.slice(2);
const PACKAGES = ['core', 'express', 'fastify', 'koa'];
const isSource = (path: string) => /(^|\/)packages\/[^/]+\/src\/.+\.ts$/.test(path) && !path.endsWith('.d.ts');

const report = new CoverageReport({
  name: 'clusterize',
  outputDir,
  cleanCache: true,
  reports: [['text', { maxCols: 150 }], 'text-summary', 'html'],
  entryFilter: (entry: { url: string }) => /\/packages\/[^/]+\/dist\/.+\.js$/.test(entry.url),
  sourceFilter: isSource,
  all: {
    dir: PACKAGES.map((name) => `packages/${name}/src`),
    filter: isSource,
    // The untested source as the build compiled it, with its map in the form monocart gives
    // the maps it loads itself: sources named from here, with their content.
    transformer: async (entry: { url: string; source: string; sourceMap?: unknown }) => {
      const built = fileURLToPath(entry.url).replace(/\/src\/(.+)\.ts$/, '/dist/$1.js');
      if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build`);
      const map = JSON.parse(readFileSync(`${built}.map`, 'utf8')) as { sources: string[] };
      const sources = map.sources.map((source) => resolve(dirname(built), source));
      entry.source = readFileSync(built, 'utf8');
      entry.sourceMap = {
        ...map,
        sources: sources.map((source) => relative(process.cwd(), source)),
        sourcesContent: sources.map((source) => readFileSync(source, 'utf8')),
      };
    },
  },
});
await report.addFromDir(dataDir);
await report.generate();
