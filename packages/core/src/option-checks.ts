import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { WORKERS_ENV } from './worker-env.js';
import { clusterizeError, clusterizeRangeError, clusterizeTypeError, type ErrorCode } from './errors.js';
import { availableCpus } from './cpus.js';
import { DEFAULT_POLICY, isPolicyName, policyNames, type PolicyName } from './listeners/policies/index.js';
import { checkNodeFlags } from './node-flags.js';
import { checkScript } from './script.js';

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
export interface Range {
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
export function checked(value: unknown, range: Range, code: ErrorCode, source: string, expected: string, shown = describe(value)): number {
  if (inRange(value, range)) return value;
  const make = typeof value === 'number' ? clusterizeRangeError : clusterizeTypeError;
  throw make(code, `${source} must be ${expected}, got ${shown}`);
}

/** Text from a command line or an environment variable: a number when it is written as an integer. */
export function numberIn(text: string): number | string {
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

/** The policies in the README's order: the default first. */
export const policyChoices: readonly PolicyName[] = [DEFAULT_POLICY, ...policyNames.filter((name) => name !== DEFAULT_POLICY)];

/** Validates a policy name: a wrong type is a TypeError, an unknown name a RangeError. */
/**
 * The signals a reload may be asked with: SIGTERM and SIGINT stop the cluster, and the others
 * have meanings of their own (SIGUSR1 starts Node's inspector only where nothing listens
 * for it: the primary listens once it is the reload signal).
 */
export const RELOAD_SIGNALS = ['SIGHUP', 'SIGUSR2', 'SIGUSR1'] as const;
export type ReloadSignal = (typeof RELOAD_SIGNALS)[number];

export function resolveReloadSignal(value: unknown, source = 'reloadSignal'): ReloadSignal {
  if (value === undefined) return 'SIGHUP';
  if (!(RELOAD_SIGNALS as readonly unknown[]).includes(value)) {
    const make = typeof value === 'string' ? clusterizeRangeError : clusterizeTypeError;
    throw make('ERR_CLUSTERIZE_INVALID_OPTION', `${source} must be one of ${RELOAD_SIGNALS.map((name) => `'${name}'`).join(', ')}, got ${describe(value)}`);
  }
  return value as ReloadSignal;
}

export function resolvePolicy(value: unknown, source = 'policy'): PolicyName {
  if (value === undefined) return DEFAULT_POLICY;
  if (!isPolicyName(value)) {
    const expected = `one of ${policyChoices.map((name) => `'${name}'`).join(', ')}`;
    const make = typeof value === 'string' ? clusterizeRangeError : clusterizeTypeError;
    throw make('ERR_CLUSTERIZE_UNKNOWN_POLICY', `${source} must be ${expected}, got ${describe(value)}`);
  }
  return value;
}

export function resolveScript(value: unknown, source: string): string {
  const script = value ?? process.argv[1];
  if (typeof script !== 'string' || script === '') {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${source} must be a path to the script the workers run`);
  }
  return script;
}

/** The primary's modules: readable files (checkScript), as absolute paths. */
export function resolvePrimaryModules(value: unknown, source: string): readonly string[] {
  return resolveStringList(value, source, []).map((path) => checkScript(path, source));
}

/** A copy of `value`, an array of strings, or `fallback` when it is not given. */
export function resolveStringList(value: unknown, source: string, fallback: readonly string[]): readonly string[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${source} must be an array of strings`);
  }
  return [...value];
}

/**
 * The workers' Node.js flags: this process's own when not given. Those given beyond this
 * process's own are checked with node itself (checkNodeFlags): its own flags it runs with.
 */
export function resolveExecArgv(value: unknown, source: string): readonly string[] {
  const own = process.execArgv;
  const flags = resolveStringList(value, source, own);
  if (value === undefined) return flags;
  const inherited = own.length <= flags.length && own.every((flag, i) => flags[i] === flag);
  checkNodeFlags(inherited ? flags.slice(own.length) : flags, source);
  return flags;
}

/** A path to watch for changes (--watch=PATH), as an absolute path: it must exist, a file or a folder. */
export function checkWatchPath(path: string, source: string): string {
  const absolute = resolvePath(path);
  if (!existsSync(absolute)) throw clusterizeError('ERR_CLUSTERIZE_WATCH_PATH_NOT_FOUND', `${source} ${absolute} does not exist`);
  return absolute;
}

/**
 * What to watch: true for the script's folder (the watcher finds it), or paths that exist,
 * made absolute; false or an empty list for nothing.
 */
export function resolveWatch(value: unknown, source: string): true | readonly string[] {
  if (value === undefined || value === false) return [];
  if (value === true) return true;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${source} must be true, false or an array of paths, got ${describe(value)}`);
  }
  return value.map((path: string) => checkWatchPath(path, source));
}

export function resolveEnv(value: unknown, source: string): Readonly<Record<string, string>> {
  const env = value ?? {};
  if (typeof env !== 'object' || env === null || !Object.values(env).every((v) => typeof v === 'string')) {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${source} must be an object of string values`);
  }
  return env as Readonly<Record<string, string>>;
}

/** The log function given, or one that writes each line to standard error. */
export function resolveLog(value: unknown, source: string): (line: string) => void {
  if (value === undefined) return (line) => process.stderr.write(`${line}\n`);
  if (typeof value !== 'function') {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${source} must be a function that takes a line of text`);
  }
  return value as (line: string) => void;
}

/** Whether workers' lines get a prefix (or, in JSON, a wrapper): 'auto' leaves it to each destination (see workerLineFormat). */
export function resolveLogPrefix(value: unknown, source: string): boolean | 'auto' {
  if (value === undefined || value === 'auto' || typeof value === 'boolean') return value ?? 'auto';
  throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${source} must be true, false or 'auto', got ${describe(value)}`);
}

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export function resolveLogFormat(value: unknown, source: string): LogFormat {
  if (value === undefined) return 'text';
  if (!(LOG_FORMATS as readonly unknown[]).includes(value)) {
    const make = typeof value === 'string' ? clusterizeRangeError : clusterizeTypeError;
    throw make('ERR_CLUSTERIZE_INVALID_OPTION', `${source} must be ${LOG_FORMATS.map((name) => `'${name}'`).join(' or ')}, got ${describe(value)}`);
  }
  return value as LogFormat;
}

export function resolveBoolean(value: unknown, source: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${source} must be true or false, got ${describe(value)}`);
  return value;
}

export interface AdminOptions {
  /** 0 to 65535; 0 picks a free port (the cluster logs which). */
  port: number;
  /** An IP address or host name. Default '127.0.0.1': metrics and the worker table are for operators, not the internet. */
  host?: string;
}

export const DEFAULT_ADMIN_HOST = '127.0.0.1';
const PORT_RANGE: Range = { least: 0, most: 65_535 };
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/** Validates a port; `source` names it in the message (admin.port, --admin-port). */
export function validatePort(value: unknown, source: string, shown = describe(value)): number {
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

export function resolveAdmin(admin: unknown, source: string): Required<AdminOptions> | undefined {
  if (admin === undefined) return undefined;
  if (admin === null || typeof admin !== 'object' || Array.isArray(admin)) {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${source} must be an object ({ port, host }), got ${describe(admin)}`);
  }
  for (const name of Object.keys(admin)) {
    if (name !== 'port' && name !== 'host') throw clusterizeTypeError('ERR_CLUSTERIZE_UNKNOWN_OPTION', `'${source}.${name}' (known: port, host)`);
  }
  const { port, host } = admin as Partial<AdminOptions>;
  return { port: validatePort(port, `${source}.port`), host: host === undefined ? DEFAULT_ADMIN_HOST : validateHost(host, `${source}.host`) };
}

/** How a message shows a value: strings quoted, numbers bare. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  return Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export { WORKERS_ENV };
