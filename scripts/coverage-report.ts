// Reports the coverage that the processes started by the tests wrote (npm run coverage sets
// NODE_V8_COVERAGE for them only, see test/setup.ts), mapped through the build's source
// maps to packages/*/src.
//
// A line counts only if it is code: the build's source map maps something to it. Types,
// comments and blank lines compile to nothing, so they count neither as covered nor as
// uncovered, in a file some process loaded as in one none did (0%, from its build output).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoverageReport } from 'monocart-coverage-reports';

const [dataDir = 'coverage/tmp', outputDir = 'coverage/report'] = process.argv.slice(2);
const PACKAGES = ['core', 'express', 'fastify', 'koa'];
const isSource = (path: string) => /(^|\/)packages\/[^/]+\/src\/.+\.ts$/.test(path) && !path.endsWith('.d.ts');

interface SourceMap {
  sources: string[];
  sourcesContent?: string[];
  mappings: string;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** For each source of `map`, the 0-based lines that some generated code maps to. */
function mappedLines(map: SourceMap): Set<number>[] {
  const lines = map.sources.map(() => new Set<number>());
  // Fields after the generated column are relative to the previous segment, across lines.
  let source = 0;
  let line = 0;
  for (const segments of map.mappings.split(';')) {
    for (const segment of segments.split(',')) {
      const fields = decodeVlq(segment);
      if (fields.length < 4) continue;
      source += fields[1]!;
      line += fields[2]!;
      lines[source]?.add(line);
    }
  }
  return lines;
}

function decodeVlq(segment: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of segment) {
    const digit = BASE64.indexOf(char);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
      continue;
    }
    values.push(value & 1 ? -(value >>> 1) : value >>> 1);
    value = 0;
    shift = 0;
  }
  return values;
}

/**
 * The map of `built` with each source's content, every line nothing maps to blanked (same
 * length, so every position stays where it was): the report counts no blank line. Sources
 * are named from here, as the report names them.
 */
function codeOnlyMap(built: string): SourceMap {
  const known = codeOnlyMaps.get(built);
  if (known !== undefined) return known;
  const map = JSON.parse(readFileSync(`${built}.map`, 'utf8')) as SourceMap;
  const paths = map.sources.map((source) => resolve(dirname(built), source));
  const mapped = mappedLines(map);
  const sourcesContent = paths.map((path, i) => readFileSync(path, 'utf8').split('\n')
    .map((text, line) => (mapped[i]!.has(line) ? text : ' '.repeat(text.length)))
    .join('\n'));
  const codeOnly = { ...map, sources: paths.map((path) => relative(process.cwd(), path)), sourcesContent };
  codeOnlyMaps.set(built, codeOnly);
  return codeOnly;
}
const codeOnlyMaps = new Map<string, SourceMap>();

const report = new CoverageReport({
  name: 'clusterize',
  outputDir,
  cleanCache: true,
  reports: ['console-details', 'console-summary'],
  entryFilter: (entry: { url: string }) => /\/packages\/[^/]+\/dist\/.+\.js$/.test(entry.url),
  sourceFilter: isSource,
  // Each process recorded the build's map; this one says which lines are code.
  onEntry: (entry: { url: string; sourceMap?: SourceMap }) => {
    entry.sourceMap = codeOnlyMap(fileURLToPath(entry.url));
  },
  all: {
    dir: PACKAGES.map((name) => `packages/${name}/src`),
    filter: isSource,
    // A source no process loaded, as the build compiled it.
    transformer: async (entry: { url: string; source: string; sourceMap?: SourceMap }) => {
      const built = fileURLToPath(entry.url).replace(/\/src\/(.+)\.ts$/, '/dist/$1.js');
      if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build`);
      entry.source = readFileSync(built, 'utf8');
      entry.sourceMap = codeOnlyMap(built);
    },
  },
});
await report.addFromDir(dataDir);
await report.generate();
