#!/usr/bin/env node
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { isClusterizeError, clusterizeError, clusterizeTypeError } from './errors.js';
import { parseWorkersArgument, type ClusterOptions } from './options.js';
import { policyNames } from './primary/policies/index.js';
import { createCluster } from './start.js';

const USAGE = `Usage: clusterize [options] <script> [args...]

Runs <script> in N worker processes that share its ports.
SIGTERM/SIGINT drain and exit 0 (twice: stop at once); SIGHUP reloads the workers one by one.

Options:
  -w, --workers N|auto      worker processes (default: auto, the CPUs this process may use)
  -p, --policy NAME         how connections reach workers: ${policyNames.join(', ')}
  --shutdown-timeout MS     time to finish in-flight requests on SIGTERM (default 10000)
  --ready-timeout MS        time a new worker gets to become ready (default 30000)
  --heartbeat-timeout MS    replace a worker whose event loop is stuck this long (default 30000, 0 off)
  --max-memory MB           replace (drain) a worker above this resident memory (default 0, off)
  --max-age MS              replace (drain) a worker after this long, +-10% jitter (default 0, off)
  --max-surge N             new workers started at a time during a reload (default 1)
  -h, --help                show this help
  -v, --version             show the version
`;

type Flag = 'workers' | 'policy' | 'shutdownTimeout' | 'readyTimeout' | 'heartbeatTimeout' | 'maxMemory' | 'maxAge' | 'maxSurge';
const flags: Record<string, Flag> = {
  '-w': 'workers', '--workers': 'workers',
  '-p': 'policy', '--policy': 'policy',
  '--shutdown-timeout': 'shutdownTimeout',
  '--ready-timeout': 'readyTimeout',
  '--heartbeat-timeout': 'heartbeatTimeout',
  '--max-memory': 'maxMemory',
  '--max-age': 'maxAge',
  '--max-surge': 'maxSurge',
};

function wholeNumber(text: string, flag: string): number {
  if (!/^\d+$/.test(text)) throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${flag} takes a whole number, got '${text}'`);
  return Number(text);
}

type Parsed = { kind: 'run'; options: ClusterOptions } | { kind: 'help' } | { kind: 'version' };

export function parseCommandLine(argv: readonly string[]): Parsed {
  const options: ClusterOptions = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') { i++; break; }
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (arg === '-v' || arg === '--version') return { kind: 'version' };
    if (!arg.startsWith('-') || arg === '-') break;
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const flag = flags[name];
    if (flag === undefined) throw clusterizeTypeError('ERR_CLUSTERIZE_UNKNOWN_OPTION', `'${name}' (see clusterize --help)`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === '') throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${name} needs a value`);
    if (flag === 'workers') options.workers = parseWorkersArgument(value);
    else if (flag === 'policy') options.policy = value as ClusterOptions['policy'];
    else options[flag] = wholeNumber(value, name);
  }
  const script = argv[i];
  if (script === undefined) throw clusterizeError('ERR_CLUSTERIZE_MISSING_SCRIPT', 'name the server script to run (clusterize [options] <script> [args...])');
  const path = resolve(script);
  if (!existsSync(path) || !statSync(path).isFile()) throw clusterizeError('ERR_CLUSTERIZE_SCRIPT_NOT_FOUND', `${path} does not exist or is not a file`);
  return { kind: 'run', options: { ...options, script: path, args: argv.slice(i + 1), execArgv: process.execArgv } };
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(): Promise<void> {
  let parsed: Parsed;
  let cluster;
  try {
    parsed = parseCommandLine(process.argv.slice(2));
    if (parsed.kind === 'help') return void process.stdout.write(USAGE);
    if (parsed.kind === 'version') return void process.stdout.write(`${version()}\n`);
    cluster = createCluster(parsed.options);
  } catch (error) {
    if (!isClusterizeError(error)) throw error;
    process.stderr.write(`clusterize: ${error.message} [${error.code}]\n`);
    process.exitCode = 2;
    return;
  }
  const { workers, policy } = cluster.options;
  cluster.options.log(`clusterize: primary ${process.pid} starting ${workers} worker${workers === 1 ? '' : 's'} (policy ${policy})`);
  try {
    await cluster.start();
  } catch (error) {
    if (!isClusterizeError(error)) throw error;
    process.stderr.write(`clusterize: ${error.message} [${error.code}]\n`);
    await cluster.shutdown();
    process.exit(1);
  }
  if (!cluster.running) return;
  const address = cluster.address();
  const where = address === null ? 'no port' : typeof address === 'string' ? address : `${address.address}:${address.port}`;
  cluster.options.log(`clusterize: ${workers} worker${workers === 1 ? '' : 's'} ready on ${where}`);
}

await main();
