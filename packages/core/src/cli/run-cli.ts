import { readFileSync } from 'node:fs';
import { parseCommandLine, USAGE } from './command-line.js';
import { cliErrorLine, isClusterizeError } from '../errors.js';
import { exitStatusOf } from './exit-status.js';
import type { Cluster } from '../primary/cluster.js';
import { flushOutput } from '../supervision/output-relay.js';
import { buildCluster } from '../start.js';
import { runCommand } from './control-commands.js';
import { printAdminStatus } from './status-command.js';

/** The package's version: its package.json is two folders up, from dist/cli/. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs `clusterize <argv>`: an error is one line on standard error, and exit status 2 for bad input (see exitStatusOf). */
export async function runCli(argv: readonly string[]): Promise<void> {
  let cluster: Cluster;
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.kind === 'help') return void process.stdout.write(USAGE);
    if (parsed.kind === 'version') return void process.stdout.write(`${version()}\n`);
    if (parsed.kind === 'status') return await status(parsed.port, parsed.host, parsed.json);
    if (parsed.kind === 'command') return void (process.exitCode = await runCommand(parsed));
    // --workers is the operator's word for this one run: it beats CLUSTERIZE_WORKERS.
    cluster = buildCluster(parsed.options, { workersFromEnv: parsed.options.workers === undefined });
  } catch (error) {
    if (!isClusterizeError(error)) throw error;
    process.stderr.write(`${cliErrorLine(error)}\n`);
    process.exitCode = exitStatusOf(error);
    return;
  }
  const { workers, policy } = cluster.options;
  cluster.options.log(`clusterize: primary ${process.pid} starting ${workers} worker${workers === 1 ? '' : 's'} (policy ${policy})`);
  try {
    await cluster.start();
  } catch (error) {
    // ERR_CLUSTERIZE_START_FAILED: the script can never start; retrying forever would hide it.
    if (!isClusterizeError(error)) throw error;
    await cluster.shutdown();
    await flushOutput();
    // The cause last, under whatever the workers and the shutdown printed (as JSON with --log-format json).
    cluster.options.log(cliErrorLine(error));
    await flushOutput();
    // A Node.js clusterize cannot run on is status 2 whichever process found out.
    process.exit(exitStatusOf(error));
  }
  if (!cluster.running) return;
  const address = cluster.address();
  const where = address === null ? 'no port' : typeof address === 'string' ? address : `${address.address}:${address.port}`;
  cluster.options.log(`clusterize: ${workers} worker${workers === 1 ? '' : 's'} ready on ${where}`);
}

/** `clusterize status --admin-port`: a cluster that does not answer is exit status 1, not bad input. */
async function status(port: number, host: string, json: boolean): Promise<void> {
  try {
    await printAdminStatus(port, host, json);
  } catch (error) {
    if (!isClusterizeError(error)) throw error;
    process.stderr.write(`${cliErrorLine(error)}\n`);
    process.exitCode = exitStatusOf(error);
  }
}
