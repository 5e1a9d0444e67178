import { DEFAULT_POLICY } from '@clusterize/core';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, startPrimary, workerPids, tryListen, type Started } from './helpers.ts';

let cluster: Started | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe('IPC between the primary and its workers', () => {
  for (const policy of [DEFAULT_POLICY, 'round-robin']) {
    it(`spoofed and malformed protocol messages are ignored with a warning; app messages pass (${policy})`, async () => {
      const spoofPort = await freePort();
      const running = await startPrimary('spoof-ipc.mjs', { workers: 2, policy }, { SPOOF_PORT: String(spoofPort) });
      cluster = running;
      const [, count] = (await running.waitFor(/spoofed (\d+)/));
      const warnings = await running.waitForCount(/clusterize: ignored a message from worker \d+ \(pid (\d+)\)/, 2 * Number(count));
      const workers = [...new Set(warnings.map((warning) => Number(warning[1])))];
      expect(workers).toHaveLength(2);
      // The app's own messages reach the primary's 'message' event, and the reply reaches the app.
      for (const pid of workers) {
        await running.waitFor(new RegExp(`primary got \\{"hello":1\\} from ${pid}`));
        await running.waitFor(new RegExp(`worker ${pid} got \\{"echo":\\{"hello":1\\}\\}`));
      }
      expect(running.output()).not.toMatch(/worker \d+ got .*NODE_CLUSTERIZE/);
      expect(running.child.exitCode).toBeNull();
      expect(await tryListen(spoofPort)).toBe('listening');
      // Neither the spoofed 'draining' nor anything else took a worker out of service.
      expect(await workerPids(running.port, 2)).toEqual(new Set(workers));
    });
  }
});
