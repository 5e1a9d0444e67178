/**
 * A self-test of the Node.js internals in node-internals.ts, run where each is used: in the
 * primary when a cluster is created, in each worker before its runtime starts. When a Node
 * release changes one, the user gets one line naming it and the Node version, instead of
 * workers that never get ready.
 */
import net from 'node:net';
import { clusterizeError } from './errors.js';
import { listenReachesGetServer } from './node-internals.js';

/**
 * The exit status of a worker that found an internal missing (sysexits' EX_CONFIG). Before
 * the cluster was ever ready, the primary stops on it at once with the worker's line.
 */
export const EXIT_NODE_INTERNALS = 78;

const CODE = 'ERR_CLUSTERIZE_NODE_INTERNALS';

/** The first internal this process needs that Node.js lacks or changed, described for a person. */
export function missingInternal(role: 'primary' | 'worker'): string | undefined {
  const node = `in Node ${process.versions.node}`;
  // Both roles bind sockets without listening.
  if (typeof (net as unknown as { _createServerHandle?: unknown })._createServerHandle !== 'function') {
    return `net._createServerHandle is missing ${node}`;
  }
  if (role === 'primary') return undefined;
  if (!listenReachesGetServer()) return `net.Server#listen() no longer calls cluster._getServer outside the primary ${node}`;
  const channel = process.channel as { unrefCounted?: unknown } | undefined;
  if (channel !== undefined && typeof channel.unrefCounted !== 'function') return `process.channel.unrefCounted is missing ${node}`;
  return undefined;
}

/** Throws ERR_CLUSTERIZE_NODE_INTERNALS if the primary's internals are not there. */
export function assertPrimaryInternals(): void {
  const missing = missingInternal('primary');
  if (missing !== undefined) throw clusterizeError(CODE, missing);
}

/** The line a worker prints before it exits with EXIT_NODE_INTERNALS: `clusterize: worker 1 (pid 2): <what> [CODE]`. */
export function workerInternalsLine(who: string, missing: string): string {
  return `clusterize: ${who}: ${missing} [${CODE}]`;
}

/** What the worker's line says (`worker 1 (pid 2): <what>`), from its last output lines. */
export function readWorkerInternalsLine(lines: readonly string[]): string | undefined {
  for (const line of [...lines].reverse()) {
    const match = /^clusterize: (.*) \[ERR_CLUSTERIZE_NODE_INTERNALS\]$/.exec(line.trim());
    if (match !== null) return match[1];
  }
  return undefined;
}
