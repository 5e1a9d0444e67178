import type { Contender } from './index.ts';
import { startListening, stopProcess } from './launch.ts';

export const singleProcess: Contender = {
  id: 'single',
  label: 'single process',
  cluster: false,
  async start(app) {
    const { proc, port } = await startListening([app], { PORT: '0' }, 'listening on ');
    return { port, primaryPid: null, stop: () => stopProcess(proc, false) };
  },
};
