import { clusterizeRangeError, clusterizeTypeError } from './errors.js';
import { availableCpus } from './cpus.js';
import { DEFAULT_POLICY, isPolicyName, policyNames, type PolicyName } from './primary/policies/index.js';

export interface ClusterOptions {
  /** Worker processes to run: a positive integer, or 'auto' for the CPUs this process may use. Default 'auto'. */
  workers?: number | 'auto';
  /** How connections reach workers: one of `policyNames` (see the README for each). */
  policy?: PolicyName;
  /** Milliseconds a draining worker gets to finish in-flight requests before it is killed. Default 10000. */
  shutdownTimeout?: number;
  /** Milliseconds a new worker gets to become ready before it counts as failed. Default 30000. */
  readyTimeout?: number;
  /** First delay before replacing a crashed worker; it doubles on each crash in a row. Default 100. */
  restartDelay?: number;
  /** Upper bound of the restart delay. Default 30000. */
  maxRestartDelay?: number;
  /** Script the workers run. Default: the script this process runs (process.argv[1]). */
  script?: string;
  /** Arguments for the workers' script. Default: this process's arguments. */
  args?: readonly string[];
  /** Node.js flags for the workers. Default: this process's flags (process.execArgv). */
  execArgv?: readonly string[];
  /** Extra environment variables for the workers. */
  env?: Readonly<Record<string, string>>;
  /** Where the cluster's own log lines go. Default: standard error. */
  log?: (line: string) => void;
  /** Drain on SIGINT/SIGTERM and exit 0 (a second signal kills at once), reload on SIGHUP. Default true. */
  signals?: boolean;
  /** A worker whose event loop does not answer a heartbeat for this long is replaced; 0 turns it off. Default 30000. */
  heartbeatTimeout?: number;
  /** A worker whose resident memory exceeds this many megabytes is replaced (drained); 0 turns it off. Default 0. */
  maxMemory?: number;
  /** A worker older than this many milliseconds (with +-10% jitter) is replaced (drained); 0 turns it off. Default 0. */
  maxAge?: number;
  /** New workers started at a time during a rolling reload. Default 1. */
  maxSurge?: number;
}

export interface ResolvedOptions {
  workers: number;
  policy: PolicyName;
  shutdownTimeout: number;
  readyTimeout: number;
  restartDelay: number;
  maxRestartDelay: number;
  script: string;
  args: readonly string[];
  execArgv: readonly string[];
  env: Readonly<Record<string, string>>;
  log: (line: string) => void;
  signals: boolean;
  heartbeatTimeout: number;
  maxMemory: number;
  maxAge: number;
  maxSurge: number;
}

const optionNames = new Set<keyof ClusterOptions>([
  'workers', 'policy', 'shutdownTimeout', 'readyTimeout', 'restartDelay', 'maxRestartDelay',
  'script', 'args', 'execArgv', 'env', 'log', 'signals', 'heartbeatTimeout', 'maxMemory', 'maxAge', 'maxSurge',
]);

/** Environment variable that overrides `workers`; `0` serves in-process (plugins only). */
export const WORKERS_ENV = 'CLUSTERIZE_WORKERS';

export function resolveWorkerCount(value: unknown, { allowZero = false } = {}): number {
  const fromEnv = process.env[WORKERS_ENV];
  const raw = fromEnv !== undefined && fromEnv !== '' ? parseWorkerCount(fromEnv, WORKERS_ENV) : value;
  if (raw === undefined || raw === 'auto') return availableCpus();
  if (typeof raw !== 'number') {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_WORKERS', `workers must be a positive integer or 'auto', got ${describe(raw)}`);
  }
  if (!Number.isInteger(raw) || raw < (allowZero ? 0 : 1) || raw > 1024) {
    const least = allowZero ? 'an integer from 0 (in-process)' : 'an integer from 1';
    throw clusterizeRangeError('ERR_CLUSTERIZE_INVALID_WORKERS', `workers must be ${least} to 1024 or 'auto', got ${raw}`);
  }
  return raw;
}

function parseWorkerCount(text: string, source: string): number | 'auto' {
  if (text === 'auto') return 'auto';
  if (!/^\d+$/.test(text)) {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_WORKERS', `${source} must be a whole number or 'auto', got '${text}'`);
  }
  return Number(text);
}

export function parseWorkersArgument(text: string): number | 'auto' {
  return parseWorkerCount(text, '--workers');
}

const units: Partial<Record<keyof ClusterOptions, string>> = { maxMemory: 'megabytes', maxSurge: 'workers' };

/** A whole number option (milliseconds unless `units` says otherwise). */
function wholeNumber(options: ClusterOptions, name: keyof ClusterOptions, fallback: number, least = 0): number {
  const value = options[name];
  const unit = units[name] ?? 'milliseconds';
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${name} must be a number of ${unit}, got ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < least) {
    throw clusterizeRangeError('ERR_CLUSTERIZE_INVALID_OPTION', `${name} must be a whole number of ${unit} >= ${least}, got ${value}`);
  }
  return value;
}

function stringList(options: ClusterOptions, name: 'args' | 'execArgv', fallback: readonly string[]): readonly string[] {
  const value = options[name];
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${name} must be an array of strings`);
  }
  return [...value];
}

export function resolvePolicy(value: unknown): PolicyName {
  if (value === undefined) return DEFAULT_POLICY;
  if (!isPolicyName(value)) {
    throw clusterizeRangeError('ERR_CLUSTERIZE_UNKNOWN_POLICY', `'${String(value)}' is not one of ${policyNames.join(', ')}`);
  }
  return value;
}

/** Validates user options: unknown names, wrong types and out-of-range values throw coded errors. */
export function resolveOptions(options: ClusterOptions = {}, { allowZeroWorkers = false } = {}): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `options must be an object, got ${describe(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (!optionNames.has(name as keyof ClusterOptions)) {
      throw clusterizeTypeError('ERR_CLUSTERIZE_UNKNOWN_OPTION', `'${name}' (known options: ${[...optionNames].join(', ')})`);
    }
  }
  const script = options.script ?? process.argv[1];
  if (typeof script !== 'string' || script === '') {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', 'script must be a path to the script the workers run');
  }
  const env = options.env ?? {};
  if (typeof env !== 'object' || env === null || !Object.values(env).every((v) => typeof v === 'string')) {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', 'env must be an object of string values');
  }
  if (options.log !== undefined && typeof options.log !== 'function') {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', 'log must be a function that takes a line of text');
  }
  if (options.signals !== undefined && typeof options.signals !== 'boolean') {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `signals must be true or false, got ${describe(options.signals)}`);
  }
  const restartDelay = wholeNumber(options, 'restartDelay', 100, 1);
  return {
    workers: resolveWorkerCount(options.workers, { allowZero: allowZeroWorkers }),
    policy: resolvePolicy(options.policy),
    shutdownTimeout: wholeNumber(options, 'shutdownTimeout', 10_000),
    readyTimeout: wholeNumber(options, 'readyTimeout', 30_000, 1),
    restartDelay,
    maxRestartDelay: Math.max(restartDelay, wholeNumber(options, 'maxRestartDelay', 30_000, 1)),
    script,
    args: stringList(options, 'args', process.argv.slice(2)),
    execArgv: stringList(options, 'execArgv', process.execArgv),
    env,
    log: options.log ?? ((line) => process.stderr.write(`${line}\n`)),
    signals: options.signals ?? true,
    heartbeatTimeout: wholeNumber(options, 'heartbeatTimeout', 30_000),
    maxMemory: wholeNumber(options, 'maxMemory', 0),
    maxAge: wholeNumber(options, 'maxAge', 0),
    maxSurge: wholeNumber(options, 'maxSurge', 1, 1),
  };
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
