import { fileURLToPath } from 'node:url';
import type { PolicyName } from '@clusterize/core';
import type { Contender } from './index.ts';
import { startListening, stopProcess } from './launch.ts';

const CLI = fileURLToPath(new URL('../../packages/core/dist/cli.js', import.meta.url));
const RELOAD_TIMEOUT_MS = 60_000;

/** The clusterize CLI running the app with one dispatch policy; SIGHUP to its primary reloads. */
export function clusterize(policy: PolicyName, isDefault: boolean): Contender {
  return {
    id: `clusterize-${policy}`,
    label: `clusterize ${policy}${isDefault ? ' (default)' : ''}`,
    cluster: true,
    async start(app, workers) {
      const args = [CLI, '--workers', String(workers), '--policy', policy, app];
      const { proc, port } = await startListening(args, { PORT: '0' }, 'ready on ');
      const reload = async () => {
        const mark = proc.mark();
        proc.signal('SIGHUP');
        const outcome = await proc.waitFor(/reload (complete|failed.*)/, RELOAD_TIMEOUT_MS, mark);
        if (outcome[1] !== 'complete') throw new Error(`clusterize: ${outcome[0]}`);
      };
      return { port, primaryPid: proc.pid, reload, stop: () => stopProcess(proc, true) };
    },
  };
}
