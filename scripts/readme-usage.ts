// Writes `clusterize --help` (USAGE, made from packages/core/src/option-table.ts) into
// README.md's CLI block, which test/unit/command-line.test.ts holds to it word for word.
// Run through `npm run readme`, which builds first: this reads the compiled USAGE.
import { readFileSync, writeFileSync } from 'node:fs';
import { USAGE } from '../packages/core/dist/cli/command-line.js';

const readme = new URL('../README.md', import.meta.url);
const before = readFileSync(readme, 'utf8');
const after = before.replace(/(### The CLI\n\n```\n)[\s\S]*?(```\n)/, (_, open: string, close: string) => `${open}${USAGE}${close}`);
if (after === before) console.log('README.md already shows the current --help');
else writeFileSync(readme, after);
