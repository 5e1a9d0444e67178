import type { ClusterizeError, ErrorCode } from '../errors.js';

/**
 * The coded errors of a run that went wrong: the cluster could not start (its workers, or
 * its admin port), or `clusterize status` got no answer. The CLI exits 1 on them; on every
 * other code (bad input, a Node.js clusterize cannot run on) the command as given can never
 * succeed, and it exits 2. README.md and docs/errors.md list these (a test compares).
 */
export const RUN_FAILED: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ERR_CLUSTERIZE_START_FAILED',
  'ERR_CLUSTERIZE_ADMIN_LISTEN',
  'ERR_CLUSTERIZE_ADMIN_UNREACHABLE',
]);

/** The CLI's exit status for a coded error. */
export function exitStatusOf(error: ClusterizeError): 1 | 2 {
  return RUN_FAILED.has(error.code) ? 1 : 2;
}
