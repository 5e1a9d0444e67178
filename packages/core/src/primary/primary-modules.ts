import { pathToFileURL } from 'node:url';
import { clusterizeError } from '../errors.js';
import type { Cluster } from './cluster.js';

/**
 * Imports each of the primary's modules (`primaryModules`, `--primary-module`) in order and
 * awaits its default export called with the cluster, if that is a function. One that throws
 * or rejects stops the start (ERR_CLUSTERIZE_START_FAILED), its stack logged first.
 */
export async function runPrimaryModules(paths: readonly string[], cluster: Cluster, log: (line: string) => void): Promise<void> {
  for (const path of paths) {
    try {
      const module = await import(pathToFileURL(path).href) as { default?: unknown };
      if (typeof module.default === 'function') await (module.default as (cluster: Cluster) => unknown)(cluster);
    } catch (error) {
      log(`clusterize: primary module ${path} failed: ${(error as Error)?.stack ?? String(error)}`);
      throw clusterizeError('ERR_CLUSTERIZE_START_FAILED', `primary module ${path} failed: ${(error as Error)?.message ?? String(error)}`, error);
    }
  }
}
