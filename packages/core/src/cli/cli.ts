#!/usr/bin/env node
// Only this file and its imports load on an older Node.js: the rest of clusterize may use
// newer features as it loads, so it is imported once the version is known to suffice.
import { cliErrorLine } from '../errors.js';
import { checkNodeVersion } from '../node-version.js';
import { exitStatusOf } from './exit-status.js';

const unsupported = checkNodeVersion(process.versions.node);
if (unsupported === undefined) {
  const { runCli } = await import('./run-cli.js');
  await runCli(process.argv.slice(2));
} else {
  process.stderr.write(`${cliErrorLine(unsupported)}\n`);
  process.exitCode = exitStatusOf(unsupported);
}
