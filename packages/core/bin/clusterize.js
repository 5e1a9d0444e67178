#!/usr/bin/env node
// The `clusterize` command. This file is committed (not built) so that npm links the bin
// on a fresh clone before the build has run; it loads the built CLI, which checks the
// Node.js version first. Plain JavaScript that any Node.js with ES modules can parse.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli/cli.js', import.meta.url);
if (existsSync(cli)) {
  await import(cli.href);
} else {
  process.stderr.write('clusterize: the CLI is not built yet (dist/cli/cli.js is missing): run `npm run build` in the clusterize repository\n');
  process.exitCode = 2;
}
