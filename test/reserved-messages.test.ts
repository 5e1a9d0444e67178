import { afterEach, describe, expect, it } from 'vitest';
import { request, startPrimary, type Started } from './helpers.ts';

let cluster: Started | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

interface Attempt { outcome: string; name?: string; called?: boolean }

describe("a worker's process.send()", () => {
  it("refuses Node's and clusterize's internal commands with a coded TypeError; the primary stays up and app messages pass", async () => {
    const running = await startPrimary('reserved-messages.mjs', { workers: 1, policy: 'shared' });
    cluster = running;
    for (let n = 1; n <= 2; n++) {
      const reply = await request(running.port, '/internal');
      expect(reply.status).toBe(200);
      const { pid, results } = JSON.parse(reply.body) as { pid: number; results: Attempt[] };
      // Thrown synchronously, callback or not (the callback never runs), as Node's argument errors are.
      expect(results).toEqual(Array(6).fill({ outcome: 'ERR_CLUSTERIZE_RESERVED_MESSAGE', name: 'TypeError', called: false }));
      await running.waitFor(new RegExp(`primary got \\{"after":${n}\\} from ${pid}`));
    }
    expect(running.child.exitCode).toBeNull();
    expect((await request(running.port)).status).toBe(200);
    expect(running.output()).not.toMatch(/ERR_INTERNAL_ASSERTION|ignored a message/);
  });
});
