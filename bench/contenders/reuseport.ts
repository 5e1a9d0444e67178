import type { Proc } from '../process.ts';
import type { Contender } from './index.ts';
import { startListening, stopAll } from './launch.ts';

/** Independent processes, each binding the same port with listen({ reusePort: true }). */
export const reusePortProcesses: Contender = {
  id: 'node-reuseport',
  label: 'Node reusePort processes',
  cluster: true,
  async start(app, workers) {
    const first = await startListening([app], { PORT: '0', BENCH_REUSE_PORT: '1' }, 'listening on ');
    const procs: Proc[] = [first.proc];
    try {
      for (let i = 1; i < workers; i++) {
        procs.push((await startListening([app], { PORT: String(first.port), BENCH_REUSE_PORT: '1' }, 'listening on ')).proc);
      }
    } catch (error) {
      await stopAll(procs, false);
      throw error;
    }
    return { port: first.port, primaryPid: null, stop: () => stopAll(procs, false) };
  },
};
