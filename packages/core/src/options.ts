import { clusterizeError, clusterizeTypeError } from './errors.js';
import { jsonLog } from './json-log.js';
import { getPolicy } from './listeners/policies/index.js';
import { describe, policyChoices } from './option-checks.js';
import type { ResolveSettings } from './option-row.js';
import { optionRows, optionTable, type ClusterOptions, type ResolvedOptions } from './option-table.js';

export {
  MAX_MESSAGE_SIZE_MB, MAX_SHUTDOWN_TIMEOUT_MS, MAX_TIMER_MS, MIN_HEARTBEAT_TIMEOUT_MS, MIN_READY_TIMEOUT_MS, WORKERS_ENV,
  resolveWorkerCount, validateWorkerCount, type AdminOptions,
} from './option-checks.js';
export type { ResolveSettings } from './option-row.js';
export type { ClusterOptions, ResolvedOptions } from './option-table.js';

/** Validates user options: unknown names, wrong types and out-of-range values throw coded errors. */
export function resolveOptions(options: ClusterOptions = {}, { allowZeroWorkers = false, workersFromEnv = true }: ResolveSettings = {}): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `options must be an object, got ${describe(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (!Object.hasOwn(optionTable, name)) {
      throw clusterizeTypeError('ERR_CLUSTERIZE_UNKNOWN_OPTION', `'${name}' (known options: ${Object.keys(optionTable).join(', ')})`);
    }
  }
  const settings = { allowZeroWorkers, workersFromEnv };
  // Each value is its row's own resolve() result, which is what ResolvedOptions says it is.
  const resolved = Object.fromEntries(optionRows.map(([name, row]) => [name, row.resolve(options[name], name, settings)])) as ResolvedOptions;
  // What holds between options, once each is valid on its own:
  checkProxyProtocol(resolved);
  return {
    ...resolved,
    maxRestartDelay: Math.max(resolved.restartDelay, resolved.maxRestartDelay),
    log: resolved.logFormat === 'json' ? jsonLog(resolved.log) : resolved.log,
  };
}

/** Under shared and reuseport the workers accept, so no one could read the header before the app does. */
function checkProxyProtocol({ proxyProtocol, policy }: ResolvedOptions): void {
  if (proxyProtocol && getPolicy(policy).transport !== 'forward') {
    const forwarding = policyChoices.filter((name) => getPolicy(name).transport === 'forward').map((name) => `'${name}'`).join(', ');
    throw clusterizeError('ERR_CLUSTERIZE_PROXY_PROTOCOL_UNSUPPORTED',
      `it needs a policy where the primary accepts connections (${forwarding}); under '${policy}' the workers accept them`);
  }
}
