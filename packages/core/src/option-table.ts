import { DEFAULT_POLICY, type PolicyName } from './listeners/policies/index.js';
import {
  checkWatchPath, DEFAULT_ADMIN_HOST, MAX_MESSAGE_SIZE_MB, MAX_SHUTDOWN_TIMEOUT_MS, MAX_TIMER_MS, MAX_WORKERS, MIN_HEARTBEAT_TIMEOUT_MS, MIN_READY_TIMEOUT_MS,
  parsePort, parseWorkerCount, policyChoices, RELOAD_SIGNALS, resolveAdmin, resolveEnv, resolveExecArgv, resolveLog, resolveLogFormat, resolveLogPrefix, resolvePolicy, resolvePrimaryModules, resolveReloadSignal,
  resolveScript, resolveStringList, resolveWatch, resolveWorkerCount, validateHost, type AdminOptions, type LogFormat, type ReloadSignal,
} from './option-checks.js';
import { custom, trueOrFalse, wholeNumber, type OptionRow } from './option-row.js';
import { checkControlPath, controlSoFar, resolveControl, type ControlOptions, type ResolvedControl } from './control/control-options.js';
import { validateName } from './control/paths.js';
import { checkNodeFlagNames, splitNodeArgs } from './node-flags.js';
import { checkEnvFile, checkScript } from './script.js';

/**
 * Every option, one row each: its doc comment (editors show it on ClusterOptions), how a
 * value is checked and what it defaults to, the default as README.md shows it, and its
 * command-line flags with their --help text. resolveOptions, the CLI's parser and --help,
 * ClusterOptions and ResolvedOptions are made from it; test/unit/option-table.test.ts holds
 * README.md to it. Flags appear in --help in the order of the rows.
 */
export const optionTable = {
  /** Worker processes to run: 1 to 1024, or 'auto' for the CPUs this process may use. Default 'auto'. CLUSTERIZE_WORKERS overrides it. */
  workers: custom<number | 'auto', number>({
    shownDefault: "`'auto'`",
    resolve: (value, _source, settings) => resolveWorkerCount(value, { allowZero: settings.allowZeroWorkers, fromEnv: settings.workersFromEnv }),
    flags: [{
      names: ['-w', '--workers'], value: 'N|auto', help: `worker processes, 1 to ${MAX_WORKERS} (default: auto, the CPUs this process may use)`,
      parse: (text, source) => parseWorkerCount(text, source),
    }],
  }),
  /** How connections reach workers: one of `policyNames` (see the README for each). */
  policy: custom<PolicyName, PolicyName>({
    shownDefault: `\`'${DEFAULT_POLICY}'\``,
    resolve: (value, source) => resolvePolicy(value, source),
    flags: [{
      names: ['-p', '--policy'], value: 'NAME',
      help: `how connections reach workers: ${policyChoices.map((name, i) => (i === 0 ? `${name} (default)` : name)).join(', ')}`,
      parse: (text, source) => resolvePolicy(text, source),
    }],
  }),
  /** Milliseconds a draining worker gets to finish in-flight requests before it is killed, up to MAX_SHUTDOWN_TIMEOUT_MS. Default 10000. */
  shutdownTimeout: wholeNumber('milliseconds', { least: 0, most: MAX_SHUTDOWN_TIMEOUT_MS, default: 10_000 },
    { flag: '--shutdown-timeout', help: 'time to finish in-flight requests on SIGTERM (default 10000)' }),
  /**
   * On SIGTERM/SIGINT, milliseconds the cluster keeps accepting and serving with /readyz
   * answering 503, so that a load balancer's health check takes it out of the pool before
   * the drain stops it accepting; 0 to MAX_TIMER_MS. Signal-driven shutdown only:
   * `shutdown()` drains at once. Default 0.
   */
  shutdownDelay: wholeNumber('milliseconds', { least: 0, most: MAX_TIMER_MS, default: 0 }, {
    flag: '--shutdown-delay',
    help: 'on SIGTERM, keep serving this long with /readyz answering 503 before\nthe drain, so a load balancer stops sending first (default 0)',
  }),
  /** Milliseconds a new worker gets to become ready before it counts as failed: MIN_READY_TIMEOUT_MS to MAX_TIMER_MS. Default 30000. */
  readyTimeout: wholeNumber('milliseconds', { least: MIN_READY_TIMEOUT_MS, most: MAX_TIMER_MS, default: 30_000 },
    { flag: '--ready-timeout', help: `time a new worker gets to become ready (default 30000, at least ${MIN_READY_TIMEOUT_MS})` }),
  /** First delay before replacing a crashed worker; it doubles on each crash in a row; 1 to MAX_TIMER_MS. Default 100. */
  restartDelay: wholeNumber('milliseconds', { least: 1, most: MAX_TIMER_MS, default: 100 }),
  /** Upper bound of the restart delay; 1 to MAX_TIMER_MS. Default 30000. */
  maxRestartDelay: wholeNumber('milliseconds', { least: 1, most: MAX_TIMER_MS, default: 30_000 }),
  /** A worker whose event loop does not answer a heartbeat for this long is replaced: 0 (off) or MIN_HEARTBEAT_TIMEOUT_MS to MAX_TIMER_MS. Default 30000. */
  heartbeatTimeout: wholeNumber('milliseconds', { least: MIN_HEARTBEAT_TIMEOUT_MS, most: MAX_TIMER_MS, zeroIsOff: true, default: 30_000 }, {
    flag: '--heartbeat-timeout',
    help: `replace a worker whose event loop is stuck this long (default 30000; 0 off, else at least ${MIN_HEARTBEAT_TIMEOUT_MS})`,
  }),
  /** A worker whose resident memory exceeds this many megabytes is replaced (drained); 0 turns it off. Default 0. */
  maxMemory: wholeNumber('megabytes', { least: 0, most: Number.MAX_SAFE_INTEGER, default: 0 },
    { flag: '--max-memory', help: 'replace (drain) a worker above this resident memory (default 0, off)' }),
  /** A worker older than this many milliseconds (with +-10% jitter) is replaced (drained): 0 (off) to MAX_TIMER_MS. Default 0. */
  maxAge: wholeNumber('milliseconds', { least: 0, most: MAX_TIMER_MS, default: 0 },
    { flag: '--max-age', help: 'replace (drain) a worker after this long, +-10% jitter (default 0, off)' }),
  /** New workers started at a time during a rolling reload. Default 1. */
  maxSurge: wholeNumber('workers', { least: 1, most: MAX_WORKERS, default: 1 },
    { flag: '--max-surge', help: 'new workers started at a time during a reload (default 1)' }),
  /** Megabytes (JSON) an app message from a worker's process.send() may take, 1 to MAX_MESSAGE_SIZE_MB; a larger one throws ERR_CLUSTERIZE_MESSAGE_TOO_LARGE. Default 16. */
  maxMessageSize: wholeNumber('megabytes', { least: 1, most: MAX_MESSAGE_SIZE_MB, default: 16 },
    { flag: '--max-message-size', help: `largest message a worker's process.send() takes, 1 to ${MAX_MESSAGE_SIZE_MB} (default 16)` }),
  /** The admin server (metrics, probes, the worker table) on `host` (default 127.0.0.1) and `port`. Default: off. */
  admin: custom<AdminOptions, Required<AdminOptions> | undefined>({
    shownDefault: 'off',
    resolve: (value, source) => resolveAdmin(value, source),
    flags: [{
      names: ['--admin-port'], value: 'PORT', help: 'serve /metrics, /livez, /readyz and /workers on this port (default: off)',
      parse: (text, source, given) => ({ ...given, port: parsePort(text, source) }),
    }, {
      names: ['--admin-host'], value: 'HOST', help: `where the admin server listens (default ${DEFAULT_ADMIN_HOST})`,
      parse: (text, source, given) => ({ ...given, host: validateHost(text, source) }),
    }],
  }),
  /** Milliseconds a worker gets to answer a metrics request before a scrape leaves it out: 1 to MAX_TIMER_MS. Default 2000. */
  metricsTimeout: wholeNumber('milliseconds', { least: 1, most: MAX_TIMER_MS, default: 2_000 },
    { flag: '--metrics-timeout', help: 'time a worker gets to answer a metrics request (default 2000)' }),
  /**
   * The control socket, for `clusterize ls`, `status`, `reload`, `scale`, `stop` and `logs`
   * from another shell: true, or `{ name, path }` (see ControlOptions). A Unix socket only
   * this user may use; no network port. Default: off (the CLI: on).
   */
  control: custom<boolean | ControlOptions, ResolvedControl | undefined>({
    shownDefault: 'off (on in the CLI)',
    resolve: (value, source) => resolveControl(value, source),
    flags: [{
      names: ['--name'], value: 'NAME', help: "the cluster's name for clusterize ls and the commands below\n(default: the script's file name without its extension)",
      parse: (text, source, given) => ({ ...controlSoFar(given, source), name: validateName(text, source) }),
    }, {
      names: ['--control'], value: 'PATH', help: 'take the commands below on this Unix socket (default: NAME.sock in\n$XDG_RUNTIME_DIR/clusterize, else in /tmp/clusterize-UID)',
      parse: (text, source, given) => ({ ...controlSoFar(given, source), path: checkControlPath(text, source) }),
    }, {
      names: ['--no-control'], help: 'no control socket: the commands cannot reach this cluster', sets: false,
    }],
  }),
  // HAProxy's `timeout queue` falls back to `timeout connect`, 5 s in its usual configs:
  // long enough to ride out a burst of slow requests, short of clients' own timeouts.
  /**
   * Milliseconds a forwarded connection waits in the primary for a worker with room when
   * every worker's server is at `maxConnections`, before it is closed (HAProxy's
   * `timeout queue`); 0 to MAX_TIMER_MS, 0 closes it at once. Default 5000.
   */
  queueTimeout: wholeNumber('milliseconds', { least: 0, most: MAX_TIMER_MS, default: 5_000 }, {
    flag: '--queue-timeout',
    help: 'when every worker is at maxConnections, a forwarded connection waits this\nlong for room before it is closed (default 5000; 0 closes it at once)',
  }),
  /**
   * Every connection starts with a PROXY protocol header (v1 or v2), which the primary reads
   * and the workers' sockets report as the client's address. Only behind a proxy that sends
   * it; forwarding policies only (not shared, reuseport). Default false.
   */
  proxyProtocol: trueOrFalse(false, {
    flag: '--proxy-protocol',
    help: 'every connection starts with a PROXY protocol header (v1 or v2) from a proxy\nin front; needs a policy where the primary accepts (not shared, reuseport)',
  }),
  /** Script the workers run, a readable file (a relative path is resolved against the current directory). Default: the script this process runs (process.argv[1]). */
  script: custom<string, string>({ shownDefault: "this process's", resolve: resolveScript }),
  /** Arguments for the workers' script. Default: this process's arguments. */
  args: custom<readonly string[], readonly string[]>({
    shownDefault: "this process's",
    resolve: (value, source) => resolveStringList(value, source, process.argv.slice(2)),
  }),
  /**
   * Node.js flags for the workers. Flags beyond this process's own are checked before any
   * worker is forked (ERR_CLUSTERIZE_INVALID_NODE_OPTION). Default: this process's flags
   * (process.execArgv).
   */
  execArgv: custom<readonly string[], readonly string[]>({
    shownDefault: "this process's",
    resolve: (value, source) => resolveExecArgv(value, source),
    flags: [{
      names: ['--node-option'], value: 'FLAG',
      help: 'a Node.js flag for the workers (repeatable), with its value in the same\nargument: --node-option --max-old-space-size=512',
      parse: (text, source, given) => [...(given ?? []), ...checkNodeFlagNames([text], source)],
    }, {
      names: ['--node-args'], value: "'FLAGS'",
      help: "Node.js flags for the workers in one argument, separated by spaces\n(PM2's --node-args): --node-args '--import ./otel.mjs --inspect'",
      parse: (text, source, given) => [...(given ?? []), ...checkNodeFlagNames(splitNodeArgs(text), source)],
    }, {
      names: ['--env-file'], value: 'FILE',
      help: "load this file's variables into the workers' environment (repeatable;\nthe primary's own are left alone, and win over the file's)",
      parse: (text, source, given) => [...(given ?? []), `--env-file=${checkEnvFile(text, source)}`],
    }],
  }),
  /** Extra environment variables for the workers. */
  env: custom<Readonly<Record<string, string>>, Readonly<Record<string, string>>>({ shownDefault: "this process's", resolve: resolveEnv }),
  /**
   * Modules the primary imports, in order, before the workers start: the primary side of
   * libraries written for node:cluster (the socket.io cluster adapter's setupPrimary(),
   * ClusterMemoryStorePrimary, prom-client's AggregatorRegistry). A default export that is
   * a function is called with the Cluster and awaited. Readable files; a relative path is
   * resolved against the current directory. Default: none.
   */
  primaryModules: custom<readonly string[], readonly string[]>({
    shownDefault: 'none',
    resolve: (value, source) => resolvePrimaryModules(value, source),
    flags: [{
      names: ['--primary-module'], value: 'FILE',
      help: 'run this module in the primary before the workers start (repeatable);\nits default export, if a function, is called with the Cluster',
      parse: (text, source, given) => [...(given ?? []), checkScript(text, source)],
    }],
  }),
  /** Where the cluster's own log lines go (as JSON with logFormat 'json'). Default: standard error. */
  log: custom<(line: string) => void, (line: string) => void>({ shownDefault: 'standard error', resolve: resolveLog }),
  /**
   * `[w<id> s<slot>] ` before each line a worker writes to its stdout or stderr; with
   * logFormat 'json', each line wrapped in a JSON object instead. 'auto': on for each of
   * the primary's stdout and stderr that is a terminal, off for pipes and files (so JSON
   * logs stay JSON) and with logFormat 'json'. Default 'auto'.
   */
  logPrefix: custom<boolean | 'auto', boolean | 'auto'>({
    shownDefault: "`'auto'`",
    resolve: (value, source) => resolveLogPrefix(value, source),
    flags: [{
      names: ['--log-prefix'], sets: true,
      help: "put [w<id> s<slot>] before each line a worker prints (default: on a terminal;\nwith --log-format json, a JSON object for each line)",
    }, {
      names: ['--no-log-prefix'], sets: false, help: "print the workers' lines as they are, on a terminal too",
    }],
  }),
  /**
   * 'json': the cluster's own log lines (what `log` gets) are JSON objects, one a line, with
   * time, level, event, pid, worker, message (see the README); the workers' output stays as
   * the app wrote it. Default 'text'.
   */
  logFormat: custom<LogFormat, LogFormat>({
    shownDefault: "`'text'`",
    resolve: (value, source) => resolveLogFormat(value, source),
    flags: [{
      names: ['--log-format'], value: 'text|json',
      help: "clusterize's own log lines as text (default), or as JSON objects, one a line",
      parse: (text, source) => resolveLogFormat(text, source),
    }],
  }),
  /** Drain on SIGINT/SIGTERM and exit 0 (a second signal kills at once), reload on reloadSignal. Default true. */
  signals: trueOrFalse(true),
  /**
   * The signal that reloads the cluster (with `signals`): 'SIGHUP', 'SIGUSR2' or 'SIGUSR1',
   * for where SIGHUP means something else to the app or its supervisor. Default 'SIGHUP'.
   */
  reloadSignal: custom<ReloadSignal, ReloadSignal>({
    shownDefault: "`'SIGHUP'`",
    resolve: (value, source) => resolveReloadSignal(value, source),
    flags: [{
      names: ['--reload-signal'], value: 'NAME',
      help: `the signal that reloads: ${RELOAD_SIGNALS.map((name, i) => (i === 0 ? `${name} (default)` : name)).join(', ')}`,
      parse: (text, source) => resolveReloadSignal(text, source),
    }],
  }),
  /**
   * Reload the workers (rolling, zero-downtime) when a file changes under these paths (files
   * or folders), once they have stayed unchanged for 200 ms; true for the script's folder.
   * node_modules, .git and editors' swap and backup files are left out. For development.
   * Default false.
   */
  watch: custom<boolean | readonly string[], true | readonly string[]>({
    shownDefault: '`false`',
    resolve: (value, source) => resolveWatch(value, source),
    flags: [{
      names: ['--watch'], value: 'PATH', optional: true,
      help: "reload the workers when a file under PATH changes (repeatable; without\n=PATH, the script's folder), for development",
      parse: (text, source, given) => (text === '' ? given ?? true : [...(Array.isArray(given) ? given : []), checkWatchPath(text, source)]),
    }],
  }),
};

type Table = typeof optionTable;
type Accepted<Row> = Row extends OptionRow<infer In, unknown> ? In : never;
type Resolved<Row> = Row extends OptionRow<unknown, infer Out> ? Out : never;

export type OptionName = keyof Table;

/** What createCluster(), startCluster() and the adapters take: one optional key per row of optionTable, with the row's doc comment. */
export type ClusterOptions = { [K in keyof Table]?: Accepted<Table[K]> };

/** Every option checked, defaults filled in. */
export type ResolvedOptions = { [K in keyof Table]: Resolved<Table[K]> };

/** The rows in order, for code that walks the table. */
export const optionRows = Object.entries(optionTable) as [OptionName, OptionRow<unknown, unknown>][];
