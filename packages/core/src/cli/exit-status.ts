import type { ClusterizeError, ErrorCode } from '../errors.js';

/**
 * The coded errors of a run that went wrong: the cluster could not start (its workers, its
 * admin port, its control socket, its name taken), or a command found no cluster to talk
 * to or got no answer. The CLI exits 1 on them; on every other code (bad input, a Node.js
 * clusterize cannot run on) the command as given can never succeed, and it exits 2.
 * README.md and docs/errors.md list these (a test compares).
 */
export const RUN_FAILED: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ERR_CLUSTERIZE_START_FAILED',
  'ERR_CLUSTERIZE_ADMIN_LISTEN',
  'ERR_CLUSTERIZE_CONTROL_LISTEN',
  'ERR_CLUSTERIZE_CONTROL_UNSAFE',
  'ERR_CLUSTERIZE_NAME_TAKEN',
  'ERR_CLUSTERIZE_ADMIN_UNREACHABLE',
  'ERR_CLUSTERIZE_CLUSTER_NOT_FOUND',
  'ERR_CLUSTERIZE_NAME_NEEDED',
  'ERR_CLUSTERIZE_CONTROL_UNREACHABLE',
  'ERR_CLUSTERIZE_CONTROL_PROTOCOL',
  'ERR_CLUSTERIZE_LOGS_DROPPED',
]);

/** The CLI's exit status for a coded error. */
export function exitStatusOf(error: ClusterizeError): 1 | 2 {
  return RUN_FAILED.has(error.code) ? 1 : 2;
}
