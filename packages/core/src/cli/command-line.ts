import { resolve } from 'node:path';
import { clusterizeError, clusterizeTypeError } from '../errors.js';
import {
  DEFAULT_ADMIN_HOST, MAX_MESSAGE_SIZE_MB, MAX_SHUTDOWN_TIMEOUT_MS, MAX_TIMER_MS, MAX_WORKERS, MIN_HEARTBEAT_TIMEOUT_MS, MIN_READY_TIMEOUT_MS, WORKERS_ENV,
  parseNumberOption, parsePort, parseWorkerCount, policyChoices, resolvePolicy, validateHost, type ClusterOptions, type NumberOption,
} from '../options.js';

/** `clusterize --help`; README.md shows the same text (a test compares them). */
export const USAGE = `Usage: clusterize [options] <script> [args...]
       clusterize status --admin-port PORT [--admin-host HOST]

Runs <script> in N worker processes that share its ports.
SIGTERM/SIGINT drain and exit 0, or 3 if the shutdown timeout cut requests (twice: stop
at once); SIGHUP reloads the workers one by one.

Options:
  -w, --workers N|auto      worker processes, 1 to ${MAX_WORKERS} (default: auto, the CPUs this process may use)
  -p, --policy NAME         how connections reach workers: ${policyChoices.map((name, i) => (i === 0 ? `${name} (default)` : name)).join(', ')}
  --shutdown-timeout MS     time to finish in-flight requests on SIGTERM (default 10000)
  --shutdown-delay MS       on SIGTERM, keep serving this long with /readyz answering 503 before
                            the drain, so a load balancer stops sending first (default 0)
  --ready-timeout MS        time a new worker gets to become ready (default 30000, at least ${MIN_READY_TIMEOUT_MS})
  --heartbeat-timeout MS    replace a worker whose event loop is stuck this long (default 30000; 0 off, else at least ${MIN_HEARTBEAT_TIMEOUT_MS})
  --max-memory MB           replace (drain) a worker above this resident memory (default 0, off)
  --max-age MS              replace (drain) a worker after this long, +-10% jitter (default 0, off)
  --max-surge N             new workers started at a time during a reload (default 1)
  --max-message-size MB     largest message a worker's process.send() takes, 1 to ${MAX_MESSAGE_SIZE_MB} (default 16)
  --admin-port PORT         serve /metrics, /livez, /readyz and /workers on this port (default: off)
  --admin-host HOST         where the admin server listens (default ${DEFAULT_ADMIN_HOST})
  --metrics-timeout MS      time a worker gets to answer a metrics request (default 2000)
  --queue-timeout MS        when every worker is at maxConnections, a forwarded connection waits this
                            long for room before it is closed (default 5000; 0 closes it at once)
  --proxy-protocol          every connection starts with a PROXY protocol header (v1 or v2) from a proxy
                            in front; needs a policy where the primary accepts (not shared, reuseport)
  -h, --help                show this help
  -v, --version             show the version

\`clusterize status\` prints the workers of the cluster whose admin server is on PORT.

Times (MS) are whole milliseconds up to ${MAX_TIMER_MS}, the longest delay Node.js timers
accept (--shutdown-timeout: up to ${MAX_SHUTDOWN_TIMEOUT_MS}).

Environment:
  ${WORKERS_ENV}=N|auto worker processes when --workers is not given
`;

type Flag = 'workers' | 'policy' | 'adminPort' | 'adminHost' | NumberOption;
const flags: Record<string, Flag> = {
  '-w': 'workers', '--workers': 'workers',
  '-p': 'policy', '--policy': 'policy',
  '--shutdown-timeout': 'shutdownTimeout',
  '--shutdown-delay': 'shutdownDelay',
  '--ready-timeout': 'readyTimeout',
  '--heartbeat-timeout': 'heartbeatTimeout',
  '--max-memory': 'maxMemory',
  '--max-age': 'maxAge',
  '--max-surge': 'maxSurge',
  '--max-message-size': 'maxMessageSize',
  '--metrics-timeout': 'metricsTimeout',
  '--queue-timeout': 'queueTimeout',
  '--admin-port': 'adminPort',
  '--admin-host': 'adminHost',
};

/** The flags `clusterize status` takes. */
const statusFlags = new Set<Flag>(['adminPort', 'adminHost']);

type CommandLine =
  | { kind: 'run'; options: ClusterOptions }
  | { kind: 'status'; port: number; host: string }
  | { kind: 'help' }
  | { kind: 'version' };

/**
 * Reads clusterize's arguments. Each flag's value is checked here, so that a message names
 * the flag the user typed; the script is resolved against the current directory.
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const status = argv[0] === 'status';
  const options: ClusterOptions = {};
  let adminPort: number | undefined;
  let adminHost: string | undefined;
  let i = status ? 1 : 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') { i++; break; }
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (arg === '-v' || arg === '--version') return { kind: 'version' };
    if (!arg.startsWith('-') || arg === '-') break;
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (name === '--proxy-protocol') {
      if (inline !== undefined) throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${name} takes no value`);
      options.proxyProtocol = true;
      continue;
    }
    const flag = flags[name];
    if (flag === undefined || (status && !statusFlags.has(flag))) {
      throw clusterizeTypeError('ERR_CLUSTERIZE_UNKNOWN_OPTION', `'${name}'${status ? ' for clusterize status' : ''} (see clusterize --help)`);
    }
    const value = inline ?? argv[++i];
    if (value === undefined || value === '') throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${name} needs a value`);
    if (flag === 'workers') options.workers = parseWorkerCount(value, name);
    else if (flag === 'policy') options.policy = resolvePolicy(value, name);
    else if (flag === 'adminPort') adminPort = parsePort(value, name);
    else if (flag === 'adminHost') adminHost = validateHost(value, name);
    else options[flag] = parseNumberOption(flag, value, name);
  }
  if (adminHost !== undefined && adminPort === undefined) {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', '--admin-host needs --admin-port (the admin server is off without it)');
  }
  if (status) {
    if (adminPort === undefined) throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', 'clusterize status needs --admin-port (the port of the cluster\'s admin server)');
    if (i < argv.length) throw clusterizeTypeError('ERR_CLUSTERIZE_UNKNOWN_OPTION', `'${argv[i]}' for clusterize status (see clusterize --help)`);
    return { kind: 'status', port: adminPort, host: adminHost ?? DEFAULT_ADMIN_HOST };
  }
  if (adminPort !== undefined) options.admin = { port: adminPort, host: adminHost ?? DEFAULT_ADMIN_HOST };
  const script = argv[i];
  if (script === undefined) throw clusterizeError('ERR_CLUSTERIZE_MISSING_SCRIPT', 'name the server script to run (clusterize [options] <script> [args...])');
  return { kind: 'run', options: { ...options, script: resolve(script), args: argv.slice(i + 1), execArgv: process.execArgv } };
}
