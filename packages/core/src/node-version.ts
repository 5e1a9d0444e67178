import { clusterizeError, type ClusterizeError } from './errors.js';

/** The oldest Node.js clusterize runs on (package.json `engines`): `listen({ reusePort })` and `Promise.withResolvers` need it. */
export const MIN_NODE_VERSION = '22.12.0';

function isOlder(version: string, than: string): boolean {
  const [have, need] = [version, than].map((text) => text.replace(/^v/, '').split('.').map((part) => Number.parseInt(part, 10)));
  for (let i = 0; i < 3; i++) {
    const [a = 0, b = 0] = [have![i], need![i]];
    if (a !== b) return a < b;
  }
  return false;
}

/**
 * A coded error when `version` (as in process.versions.node) is older than MIN_NODE_VERSION.
 * This file loads on any Node.js that runs ES modules, so the CLI can say so in one line.
 */
export function checkNodeVersion(version: string): ClusterizeError | undefined {
  if (!isOlder(version, MIN_NODE_VERSION)) return undefined;
  return clusterizeError('ERR_CLUSTERIZE_UNSUPPORTED_NODE', `needs ${MIN_NODE_VERSION} or newer, this is ${version.replace(/^v/, '')}`);
}

/** Throws checkNodeVersion's error, the one the CLI prints, on a Node.js older than MIN_NODE_VERSION. */
export function assertSupportedNode(version: string = process.versions.node): void {
  const unsupported = checkNodeVersion(version);
  if (unsupported !== undefined) throw unsupported;
}
