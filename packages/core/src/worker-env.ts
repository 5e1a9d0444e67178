/**
 * The environment contract between the primary and its workers: every CLUSTERIZE_* variable
 * the primary sets for a worker it forks, or reads itself, with its meaning and default.
 * The names are a public contract (the README, scripts and tests name some): keep them.
 */
import type { ResolvedOptions } from './options.js';

/**
 * Read by the primary: overrides the `workers` option (the operator's setting over the
 * app's default; the CLI's --workers beats it). `0` serves in-process (plugins only).
 * Validated with the options (resolveWorkerCount in options.ts).
 */
export const WORKERS_ENV = 'CLUSTERIZE_WORKERS';

const MB = 1024 * 1024;

interface Variable {
  readonly name: string;
  /** The least whole number it may be. */
  readonly least: number;
}

interface Setting extends Variable {
  /** What a worker uses when its primary did not say: the option's default. */
  readonly fallback: number;
}

/** Which worker this process is: both set and well-formed, or it is no worker. */
const identity = {
  /** The worker's id (1, 2, ...): one more for every worker the cluster forks, never reused. */
  id: { name: 'CLUSTERIZE_WORKER_ID', least: 1 },
  /**
   * Its slot, its place in the cluster (0 to workers - 1): a replacement (crash, hang,
   * recycle, reload) takes over its predecessor's, so a slot stands for "the same worker"
   * across restarts. During a reload an old and a new worker hold the same slot briefly.
   */
  slot: { name: 'CLUSTERIZE_WORKER_SLOT', least: 0 },
  /**
   * The fd of the pipe the worker's token comes through: never the token itself (see
   * spawnWorker). The worker removes it at once, so a process the app forks, which
   * inherits the rest, starts as a plain process.
   */
  tokenFd: { name: 'CLUSTERIZE_TOKEN_FD', least: 3 },
} as const satisfies Record<string, Variable>;

/** Options the worker runtime needs, as the primary resolved them. */
const settings = {
  /** shutdownTimeout: milliseconds a drain on SIGTERM or disconnect gets. */
  shutdownTimeout: { name: 'CLUSTERIZE_SHUTDOWN_TIMEOUT', least: 0, fallback: 10_000 },
  /** maxMessageSize, in bytes (the option is in MB): the most JSON the app's process.send() sends at once. */
  maxMessageSize: { name: 'CLUSTERIZE_MAX_MESSAGE_SIZE', least: 1, fallback: 16 * MB },
  /** metricsTimeout: milliseconds the primary waits for a worker's metrics; clusterMetrics() waits a little longer. */
  metricsTimeout: { name: 'CLUSTERIZE_METRICS_TIMEOUT', least: 1, fallback: 2_000 },
} as const satisfies Record<string, Setting>;

type Settings = { [K in keyof typeof settings]: number };

type Meaning = keyof typeof identity | keyof Settings;

/** Each variable's name, by what it means. */
export const WORKER_ENV = Object.fromEntries(Object.entries({ ...identity, ...settings }).map(([meaning, { name }]) => [meaning, name])) as
  { readonly [M in Meaning]: string };

/**
 * PM2's name for the slot (its instance number), which apps written for PM2 read, as in
 * `NODE_APP_INSTANCE === '0'` for work one process should do: set to the slot.
 */
export const PM2_INSTANCE_ENV = 'NODE_APP_INSTANCE';

/** What the primary tells worker `id` in `slot` through its environment; `tokenFd`: where the worker reads its token. */
export function workerEnv(options: Pick<ResolvedOptions, keyof Settings>, id: number, slot: number, tokenFd: number): Record<string, string> {
  const values: Record<Meaning, number> = {
    id, slot, tokenFd, shutdownTimeout: options.shutdownTimeout, maxMessageSize: options.maxMessageSize * MB, metricsTimeout: options.metricsTimeout,
  };
  const env = Object.fromEntries(Object.entries(values).map(([meaning, value]) => [WORKER_ENV[meaning as Meaning], String(value)]));
  return { ...env, [PM2_INSTANCE_ENV]: String(slot) };
}

export interface WorkerEnv extends Settings {
  /** Undefined where unset (a plain process, or one the app forked) or malformed. */
  id: number | undefined;
  slot: number | undefined;
  tokenFd: number | undefined;
  /** A line for each variable that was set but malformed, saying what is done instead. */
  problems: string[];
}

/**
 * A worker's environment, checked: a malformed setting falls back to its default, a
 * malformed id or token fd leaves the process a plain one, and each says so in `problems`.
 * An empty variable counts as unset.
 */
export function readWorkerEnv(env: NodeJS.ProcessEnv): WorkerEnv {
  const problems: string[] = [];
  const read = ({ name, least }: Variable, instead: string): number | undefined => {
    const text = env[name];
    if (text === undefined || text === '') return undefined;
    const value = /^\d+$/.test(text) ? Number(text) : NaN;
    if (value >= least && Number.isSafeInteger(value)) return value;
    problems.push(`${name} must be a whole number >= ${least}, got '${text.slice(0, 40)}'; ${instead}`);
    return undefined;
  };
  const plain = 'this process runs as a plain process, not a worker';
  const id = read(identity.id, plain);
  const slot = read(identity.slot, plain);
  const tokenFd = read(identity.tokenFd, plain);
  const values = Object.fromEntries(Object.entries(settings).map(([meaning, setting]) =>
    [meaning, read(setting, `using ${setting.fallback}`) ?? setting.fallback])) as Settings;
  return { id, slot, tokenFd, ...values, problems };
}
