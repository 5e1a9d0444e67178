import { fileURLToPath } from 'node:url';
import type { PolicyName } from '@clusterize/core';
import type { Contender } from './index.ts';
import { reloadBySighup, startListening, stopProcess } from './launch.ts';

const CLI = fileURLToPath(new URL('../../packages/core/bin/clusterize.js', import.meta.url));

/**
 * The clusterize CLI running the app with one dispatch policy; SIGHUP to its primary reloads.
 * With `proxyProtocol` its listeners read a PROXY protocol header first (--proxy-protocol).
 */
export function clusterize(policy: PolicyName, isDefault: boolean, { proxyProtocol = false } = {}): Contender {
  return {
    id: `clusterize-${policy}${proxyProtocol ? '-proxy' : ''}`,
    label: `clusterize ${policy}${isDefault ? ' (default)' : ''}${proxyProtocol ? ' + PROXY protocol' : ''}`,
    cluster: true,
    proxyProtocol,
    async start(app, workers) {
      // Side by side with the other contenders, on one app: no control socket (each would be named after the app).
      const args = [CLI, '--workers', String(workers), '--policy', policy, '--no-control', ...(proxyProtocol ? ['--proxy-protocol'] : []), app];
      const { proc, port } = await startListening(args, { PORT: '0' }, 'ready on ');
      return { port, primaryPid: proc.pid, reload: reloadBySighup(proc, 'clusterize'), stop: () => stopProcess(proc, true) };
    },
  };
}
