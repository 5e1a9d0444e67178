import { isIP } from 'node:net';
import { clusterizeError, clusterizeRangeError, clusterizeTypeError, type ErrorCode } from './errors.js';
import { availableCpus } from './cpus.js';
import { DEFAULT_POLICY, getPolicy, isPolicyName, policyNames, type PolicyName } from './listeners/policies/index.js';

export interface ClusterOptions {
  /** Worker processes to run: 1 to 1024, or 'auto' for the CPUs this process may use. Default 'auto'. CLUSTERIZE_WORKERS overrides it. */
  workers?: number | 'auto';
  /** How connections reach workers: one of `policyNames` (see the README for each). */
  policy?: PolicyName;
  /** Milliseconds a draining worker gets to finish in-flight requests before it is killed, up to MAX_SHUTDOWN_TIMEOUT_MS. Default 10000. */
  shutdownTimeout?: number;
  /**
   * On SIGTERM/SIGINT, milliseconds the cluster keeps accepting and serving with /readyz
   * answering 503, so that a load balancer's health check takes it out of the pool before
   * the drain stops it accepting; 0 to MAX_TIMER_MS. Signal-driven shutdown only:
   * `shutdown()` drains at once. Default 0.
   */
  shutdownDelay?: number;
  /** Milliseconds a new worker gets to become ready before it counts as failed: MIN_READY_TIMEOUT_MS to MAX_TIMER_MS. Default 30000. */
  readyTimeout?: number;
  /** First delay before replacing a crashed worker; it doubles on each crash in a row; 1 to MAX_TIMER_MS. Default 100. */
  restartDelay?: number;
  /** Upper bound of the restart delay; 1 to MAX_TIMER_MS. Default 30000. */
  maxRestartDelay?: number;
  /** Script the workers run, a readable file (a relative path is resolved against the current directory). Default: the script this process runs (process.argv[1]). */
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
  /** A worker whose event loop does not answer a heartbeat for this long is replaced: 0 (off) or MIN_HEARTBEAT_TIMEOUT_MS to MAX_TIMER_MS. Default 30000. */
  heartbeatTimeout?: number;
  /** A worker whose resident memory exceeds this many megabytes is replaced (drained); 0 turns it off. Default 0. */
  maxMemory?: number;
  /** A worker older than this many milliseconds (with +-10% jitter) is replaced (drained): 0 (off) to MAX_TIMER_MS. Default 0. */
  maxAge?: number;
  /** New workers started at a time during a rolling reload. Default 1. */
  maxSurge?: number;
  /** Megabytes (JSON) an app message from a worker's process.send() may take, 1 to MAX_MESSAGE_SIZE_MB; a larger one throws ERR_CLUSTERIZE_MESSAGE_TOO_LARGE. Default 16. */
  maxMessageSize?: number;
  /**
   * Every connection starts with a PROXY protocol header (v1 or v2), which the primary reads
   * and the workers' sockets report as the client's address. Only behind a proxy that sends
   * it; forwarding policies only (not shared, reuseport). Default false.
   */
  proxyProtocol?: boolean;
  /** The admin server (metrics, probes, the worker table) on `host` (default 127.0.0.1) and `port`. Default: off. */
  admin?: AdminOptions;
  /** Milliseconds a worker gets to answer a metrics request before a scrape leaves it out: 1 to MAX_TIMER_MS. Default 2000. */
  metricsTimeout?: number;
  /**
   * Milliseconds a forwarded connection waits in the primary for a worker with room when
   * every worker's server is at `maxConnections`, before it is closed (HAProxy's
   * `timeout queue`); 0 to MAX_TIMER_MS, 0 closes it at once. Default 5000.
   */
  queueTimeout?: number;
}

export interface AdminOptions {
  /** 0 to 65535; 0 picks a free port (the cluster logs which). */
  port: number;
  /** An IP address or host name. Default '127.0.0.1': metrics and the worker table are for operators, not the internet. */
  host?: string;
}

export interface ResolvedOptions {
  workers: number;
  policy: PolicyName;
  shutdownTimeout: number;
  shutdownDelay: number;
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
  maxMessageSize: number;
  admin: Required<AdminOptions> | undefined;
  metricsTimeout: number;
  proxyProtocol: boolean;
  queueTimeout: number;
}

const optionNames = new Set<keyof ClusterOptions>([
  'workers', 'policy', 'shutdownTimeout', 'shutdownDelay', 'readyTimeout', 'restartDelay', 'maxRestartDelay',
  'script', 'args', 'execArgv', 'env', 'log', 'signals', 'heartbeatTimeout', 'maxMemory', 'maxAge', 'maxSurge',
  'maxMessageSize', 'proxyProtocol', 'queueTimeout',
  'admin', 'metricsTimeout',
]);

/** Environment variable that overrides `workers`; `0` serves in-process (plugins only). */
export const WORKERS_ENV = 'CLUSTERIZE_WORKERS';

export const MAX_WORKERS = 1024;

/**
 * The largest maxMessageSize: the primary parses each message into one string, and V8's
 * strings end at about 512 MB (2^29 - 24 characters).
 */
export const MAX_MESSAGE_SIZE_MB = 512;

/** The longest delay Node's timers accept: a longer one fires after 1 ms (with a warning). */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * The primary waits shutdownTimeout plus a short grace before it kills a worker, and that
 * sum has to be a valid timer delay too.
 */
export const MAX_SHUTDOWN_TIMEOUT_MS = MAX_TIMER_MS - 60_000;

/** A shorter heartbeat timeout replaces healthy workers that were merely busy for a moment. */
export const MIN_HEARTBEAT_TIMEOUT_MS = 1_000;

/** A shorter ready timeout fails every worker before it has loaded its script. */
export const MIN_READY_TIMEOUT_MS = 100;

/** Whole numbers from `least` to `most`, and 0 as well when it turns the feature off. */
interface Range {
  readonly least: number;
  readonly most: number;
  readonly zeroIsOff?: boolean;
}

function inRange(value: unknown, { least, most, zeroIsOff = false }: Range): value is number {
  return typeof value === 'number' && Number.isInteger(value) && ((value >= least && value <= most) || (zeroIsOff && value === 0));
}

/**
 * `value` when it is in `range`; else a coded error saying what was `expected`: a TypeError
 * for a wrong type, a RangeError for a number out of range. `shown` is how the message
 * quotes what the user wrote: text from a command line stays quoted even when it parsed.
 */
function checked(value: unknown, range: Range, code: ErrorCode, source: string, expected: string, shown = describe(value)): number {
  if (inRange(value, range)) return value;
  const make = typeof value === 'number' ? clusterizeRangeError : clusterizeTypeError;
  throw make(code, `${source} must be ${expected}, got ${shown}`);
}

/** Text from a command line or an environment variable: a number when it is written as an integer. */
function numberIn(text: string): number | string {
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

const workerRange = (allowZero: boolean): Range => ({ least: allowZero ? 0 : 1, most: MAX_WORKERS });

function workersExpected(allowZero: boolean, allowAuto: boolean): string {
  return `an integer from ${allowZero ? '0 (in-process)' : '1'} to ${MAX_WORKERS}${allowAuto ? " or 'auto'" : ''}`;
}

/**
 * Validates a worker count; `source` names where it came from in the message
 * (`workers`, `scale() count`). With `allowAuto`, 'auto' is the CPUs this process may use.
 */
export function validateWorkerCount(value: unknown, source: string, { allowZero = false, allowAuto = false } = {}): number {
  if (allowAuto && value === 'auto') return availableCpus();
  return checked(value, workerRange(allowZero), 'ERR_CLUSTERIZE_INVALID_WORKERS', source, workersExpected(allowZero, allowAuto));
}

/** A worker count written as text (`--workers`, CLUSTERIZE_WORKERS): a count or 'auto'. */
export function parseWorkerCount(text: string, source: string, { allowZero = false } = {}): number | 'auto' {
  if (text === 'auto') return 'auto';
  return checked(numberIn(text), workerRange(allowZero), 'ERR_CLUSTERIZE_INVALID_WORKERS', source, workersExpected(allowZero, true), `'${text}'`);
}

/**
 * The worker count: CLUSTERIZE_WORKERS when set (the operator's setting beats the app's
 * default in code), else `value`. The CLI passes `fromEnv: false` when --workers was given.
 */
export function resolveWorkerCount(value: unknown, { allowZero = false, fromEnv = true } = {}): number {
  const env = fromEnv ? process.env[WORKERS_ENV] : undefined;
  if (env !== undefined && env !== '') {
    return validateWorkerCount(parseWorkerCount(env, WORKERS_ENV, { allowZero }), WORKERS_ENV, { allowZero, allowAuto: true });
  }
  return validateWorkerCount(value ?? 'auto', 'workers', { allowZero, allowAuto: true });
}

/** The numeric options: bounds, unit and default. */
const numberOptions = {
  shutdownTimeout: { unit: 'milliseconds', least: 0, most: MAX_SHUTDOWN_TIMEOUT_MS, fallback: 10_000 },
  shutdownDelay: { unit: 'milliseconds', least: 0, most: MAX_TIMER_MS, fallback: 0 },
  readyTimeout: { unit: 'milliseconds', least: MIN_READY_TIMEOUT_MS, most: MAX_TIMER_MS, fallback: 30_000 },
  restartDelay: { unit: 'milliseconds', least: 1, most: MAX_TIMER_MS, fallback: 100 },
  maxRestartDelay: { unit: 'milliseconds', least: 1, most: MAX_TIMER_MS, fallback: 30_000 },
  heartbeatTimeout: { unit: 'milliseconds', least: MIN_HEARTBEAT_TIMEOUT_MS, most: MAX_TIMER_MS, zeroIsOff: true, fallback: 30_000 },
  maxAge: { unit: 'milliseconds', least: 0, most: MAX_TIMER_MS, fallback: 0 },
  maxMemory: { unit: 'megabytes', least: 0, most: Number.MAX_SAFE_INTEGER, fallback: 0 },
  maxSurge: { unit: 'workers', least: 1, most: MAX_WORKERS, fallback: 1 },
  maxMessageSize: { unit: 'megabytes', least: 1, most: MAX_MESSAGE_SIZE_MB, fallback: 16 },
  metricsTimeout: { unit: 'milliseconds', least: 1, most: MAX_TIMER_MS, fallback: 2_000 },
  // HAProxy's `timeout queue` falls back to `timeout connect`, 5 s in its usual configs:
  // long enough to ride out a burst of slow requests, short of clients' own timeouts.
  queueTimeout: { unit: 'milliseconds', least: 0, most: MAX_TIMER_MS, fallback: 5_000 },
} as const satisfies Record<string, Range & { unit: string; fallback: number }>;

export type NumberOption = keyof typeof numberOptions;

function numberExpected(name: NumberOption): string {
  const { unit, least, most } = numberOptions[name];
  const off = 'zeroIsOff' in numberOptions[name] ? '0 (off) or ' : '';
  return `${off}a whole number of ${unit} ${most === Number.MAX_SAFE_INTEGER ? `>= ${least}` : `from ${least} to ${most}`}`;
}

/** Validates a numeric option; `source` names it in the message (the option, or its CLI flag). */
function validateNumberOption(name: NumberOption, value: unknown, source: string = name): number {
  return checked(value, numberOptions[name], 'ERR_CLUSTERIZE_INVALID_OPTION', source, numberExpected(name));
}

/** A numeric option written as text (a CLI flag). */
export function parseNumberOption(name: NumberOption, text: string, source: string): number {
  return checked(numberIn(text), numberOptions[name], 'ERR_CLUSTERIZE_INVALID_OPTION', source, numberExpected(name), `'${text}'`);
}

function numberOption(options: ClusterOptions, name: NumberOption): number {
  return options[name] === undefined ? numberOptions[name].fallback : validateNumberOption(name, options[name]);
}

function stringList(options: ClusterOptions, name: 'args' | 'execArgv', fallback: readonly string[]): readonly string[] {
  const value = options[name];
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${name} must be an array of strings`);
  }
  return [...value];
}

/** The policies in the README's order: the default first. */
export const policyChoices: readonly PolicyName[] = [DEFAULT_POLICY, ...policyNames.filter((name) => name !== DEFAULT_POLICY)];

/** Validates a policy name: a wrong type is a TypeError, an unknown name a RangeError. */
export function resolvePolicy(value: unknown, source = 'policy'): PolicyName {
  if (value === undefined) return DEFAULT_POLICY;
  if (!isPolicyName(value)) {
    const expected = `one of ${policyChoices.map((name) => `'${name}'`).join(', ')}`;
    const make = typeof value === 'string' ? clusterizeRangeError : clusterizeTypeError;
    throw make('ERR_CLUSTERIZE_UNKNOWN_POLICY', `${source} must be ${expected}, got ${describe(value)}`);
  }
  return value;
}

export interface ResolveSettings {
  /** Allow `workers: 0` (in-process): the framework plugins do. */
  allowZeroWorkers?: boolean;
  /** Let CLUSTERIZE_WORKERS override `workers` (default true; the CLI's --workers beats it). */
  workersFromEnv?: boolean;
}

/** Validates user options: unknown names, wrong types and out-of-range values throw coded errors. */
export function resolveOptions(options: ClusterOptions = {}, { allowZeroWorkers = false, workersFromEnv = true }: ResolveSettings = {}): ResolvedOptions {
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
  const restartDelay = numberOption(options, 'restartDelay');
  const policy = resolvePolicy(options.policy);
  return {
    workers: resolveWorkerCount(options.workers, { allowZero: allowZeroWorkers, fromEnv: workersFromEnv }),
    policy,
    shutdownTimeout: numberOption(options, 'shutdownTimeout'),
    shutdownDelay: numberOption(options, 'shutdownDelay'),
    readyTimeout: numberOption(options, 'readyTimeout'),
    restartDelay,
    maxRestartDelay: Math.max(restartDelay, numberOption(options, 'maxRestartDelay')),
    script,
    args: stringList(options, 'args', process.argv.slice(2)),
    execArgv: stringList(options, 'execArgv', process.execArgv),
    env,
    log: options.log ?? ((line) => process.stderr.write(`${line}\n`)),
    signals: options.signals ?? true,
    heartbeatTimeout: numberOption(options, 'heartbeatTimeout'),
    maxMemory: numberOption(options, 'maxMemory'),
    maxAge: numberOption(options, 'maxAge'),
    maxSurge: numberOption(options, 'maxSurge'),
    maxMessageSize: numberOption(options, 'maxMessageSize'),
    admin: resolveAdmin(options.admin),
    metricsTimeout: numberOption(options, 'metricsTimeout'),
    proxyProtocol: resolveProxyProtocol(options.proxyProtocol, policy),
    queueTimeout: numberOption(options, 'queueTimeout'),
  };
}

export const DEFAULT_ADMIN_HOST = '127.0.0.1';
const PORT_RANGE: Range = { least: 0, most: 65_535 };
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/** Validates a port; `source` names it in the message (admin.port, --admin-port). */
function validatePort(value: unknown, source: string, shown = describe(value)): number {
  return checked(value, PORT_RANGE, 'ERR_CLUSTERIZE_INVALID_OPTION', source, 'an integer from 0 to 65535', shown);
}

/** A port written as text (a CLI flag). */
export function parsePort(text: string, source: string): number {
  return validatePort(numberIn(text), source, `'${text}'`);
}

/** Validates a host to listen on: an IP address or a host name. */
export function validateHost(value: unknown, source: string): string {
  if (typeof value === 'string' && (isIP(value) !== 0 || HOST_NAME.test(value))) return value;
  const make = typeof value === 'string' ? clusterizeRangeError : clusterizeTypeError;
  throw make('ERR_CLUSTERIZE_INVALID_OPTION', `${source} must be an IP address or a host name, got ${describe(value)}`);
}

function resolveAdmin(admin: unknown): Required<AdminOptions> | undefined {
  if (admin === undefined) return undefined;
  if (admin === null || typeof admin !== 'object' || Array.isArray(admin)) {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `admin must be an object ({ port, host }), got ${describe(admin)}`);
  }
  for (const name of Object.keys(admin)) {
    if (name !== 'port' && name !== 'host') throw clusterizeTypeError('ERR_CLUSTERIZE_UNKNOWN_OPTION', `'admin.${name}' (known: port, host)`);
  }
  const { port, host } = admin as Partial<AdminOptions>;
  return { port: validatePort(port, 'admin.port'), host: host === undefined ? DEFAULT_ADMIN_HOST : validateHost(host, 'admin.host') };
}

/** Under shared and reuseport the workers accept, so no one could read the header before the app does. */
function resolveProxyProtocol(value: unknown, policy: PolicyName): boolean {
  if (value !== undefined && typeof value !== 'boolean') {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `proxyProtocol must be true or false, got ${describe(value)}`);
  }
  if (value === true && getPolicy(policy).transport !== 'forward') {
    const forwarding = policyChoices.filter((name) => getPolicy(name).transport === 'forward').map((name) => `'${name}'`).join(', ');
    throw clusterizeError('ERR_CLUSTERIZE_PROXY_PROTOCOL_UNSUPPORTED',
      `the PROXY protocol needs a policy where the primary accepts connections (${forwarding}); under '${policy}' the workers accept them`);
  }
  return value ?? false;
}

/** How a message shows a value: strings quoted, numbers bare. */
function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  return Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
