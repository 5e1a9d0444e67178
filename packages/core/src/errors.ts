/**
 * Every error clusterize raises for something a user can get wrong has a code
 * listed here, and every code is documented in docs/errors.md (a test checks).
 */
const messages = {
  ERR_CLUSTERIZE_INVALID_OPTION: 'Invalid option',
  ERR_CLUSTERIZE_UNKNOWN_OPTION: 'Unknown option',
  ERR_CLUSTERIZE_INVALID_WORKERS: 'Invalid worker count',
  ERR_CLUSTERIZE_UNKNOWN_POLICY: 'Unknown dispatch policy',
  ERR_CLUSTERIZE_POLICY_UNSUPPORTED: 'Dispatch policy not supported here',
  ERR_CLUSTERIZE_PROXY_PROTOCOL_UNSUPPORTED: 'PROXY protocol not supported with this policy',
  ERR_CLUSTERIZE_SCRIPT_NOT_FOUND: 'Script not found',
  ERR_CLUSTERIZE_SCRIPT_UNREADABLE: 'Script not readable',
  ERR_CLUSTERIZE_MISSING_SCRIPT: 'No script given',
  ERR_CLUSTERIZE_INVALID_NODE_OPTION: 'Invalid Node.js flag for the workers',
  ERR_CLUSTERIZE_ENV_FILE_NOT_FOUND: 'Env file not found',
  ERR_CLUSTERIZE_ENV_FILE_UNREADABLE: 'Env file not readable',
  ERR_CLUSTERIZE_WATCH_PATH_NOT_FOUND: 'Watch path not found',
  ERR_CLUSTERIZE_ALREADY_STARTED: 'Cluster already started',
  ERR_CLUSTERIZE_NOT_RUNNING: 'Cluster not running',
  ERR_CLUSTERIZE_INVALID_APP: 'Not an app of the expected framework',
  ERR_CLUSTERIZE_RELOAD_FAILED: 'Reload failed',
  ERR_CLUSTERIZE_SCALE_FAILED: 'Scale failed',
  ERR_CLUSTERIZE_START_FAILED: 'Start failed',
  ERR_CLUSTERIZE_RESERVED_MESSAGE: 'Reserved IPC message',
  ERR_CLUSTERIZE_MESSAGE_TOO_LARGE: 'IPC message too large',
  ERR_CLUSTERIZE_IN_WORKER: 'Not the primary',
  ERR_CLUSTERIZE_UNSUPPORTED_NODE: 'Unsupported Node.js version',
  ERR_CLUSTERIZE_ADMIN_LISTEN: 'Admin server cannot listen',
  ERR_CLUSTERIZE_ADMIN_UNREACHABLE: 'Admin server unreachable',
  ERR_CLUSTERIZE_METRICS_UNAVAILABLE: 'Cluster metrics unavailable',
  ERR_CLUSTERIZE_NODE_INTERNALS: 'Node.js internals changed',
  ERR_CLUSTERIZE_INVALID_ARGUMENT: 'Invalid argument',
  ERR_CLUSTERIZE_NOT_JSON: 'Not JSON',
  ERR_CLUSTERIZE_NO_HANDLER: 'No request handler',
  ERR_CLUSTERIZE_HANDLER_FAILED: 'Request handler failed',
  ERR_CLUSTERIZE_REQUEST_TIMEOUT: 'Request timed out',
  ERR_CLUSTERIZE_PRIMARY_GONE: 'Primary gone',
  ERR_CLUSTERIZE_INVALID_NAME: 'Invalid cluster name',
  ERR_CLUSTERIZE_NAME_TAKEN: 'Cluster name taken',
  ERR_CLUSTERIZE_NAME_NEEDED: 'Cluster name needed',
  ERR_CLUSTERIZE_CLUSTER_NOT_FOUND: 'No such cluster',
  ERR_CLUSTERIZE_CONTROL_LISTEN: 'Control socket cannot listen',
  ERR_CLUSTERIZE_CONTROL_UNSAFE: 'Control socket not private',
  ERR_CLUSTERIZE_CONTROL_UNREACHABLE: 'Cluster does not answer',
  ERR_CLUSTERIZE_CONTROL_PROTOCOL: 'Control protocol error',
  ERR_CLUSTERIZE_LOGS_DROPPED: 'Logs client dropped',
} as const;

export type ErrorCode = keyof typeof messages;

export const errorCodes = Object.keys(messages) as ErrorCode[];

type Base = typeof Error | typeof TypeError | typeof RangeError;

export interface ClusterizeError extends Error {
  readonly code: ErrorCode;
}

function make(base: Base, code: ErrorCode, detail: string, cause?: unknown): ClusterizeError {
  const error = new base(`${messages[code]}: ${detail}`, cause === undefined ? undefined : { cause });
  Object.defineProperty(error, 'code', { value: code, enumerable: true });
  return error as ClusterizeError;
}

export const clusterizeError = (code: ErrorCode, detail: string, cause?: unknown) => make(Error, code, detail, cause);
export const clusterizeTypeError = (code: ErrorCode, detail: string) => make(TypeError, code, detail);
export const clusterizeRangeError = (code: ErrorCode, detail: string) => make(RangeError, code, detail);

/**
 * A coded error that reports what happened in a worker (its start failed): without stack
 * frames, which would only show the primary's code that noticed it, where a user looks for
 * their app's.
 */
export function clusterizeReport(code: ErrorCode, detail: string): ClusterizeError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make(Error, code, detail);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** What an error says past its title: `<detail>` of `<title>: <detail>`. */
export function detailOf(error: ClusterizeError): string {
  const title = `${messages[error.code]}: `;
  return error.message.startsWith(title) ? error.message.slice(title.length) : error.message;
}

export function isClusterizeError(error: unknown): error is ClusterizeError {
  const code: unknown = error instanceof Error ? (error as Partial<ClusterizeError>).code : undefined;
  return typeof code === 'string' && code.startsWith('ERR_CLUSTERIZE_');
}

/** The CLI's one line for an error: `clusterize: <message> [<code>]`. */
export function cliErrorLine(error: ClusterizeError): string {
  return `clusterize: ${error.message} [${error.code}]`;
}
