import { DEFAULT_POLICY } from '@clusterize/core';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRaw, getRequest, pidsServing, request, startCli, startPrimary, within, type Started, workerPids } from './helpers.ts';

let cluster: Started | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const pidOf = (body: string) => (JSON.parse(body) as { pid: number }).pid;

describe('worker lifecycle', () => {
  for (const policy of [DEFAULT_POLICY, 'round-robin']) {
    it(`a crashed worker is replaced; the other serves alone meanwhile (${policy})`, async () => {
      // A long restart delay leaves a window in which only the survivor can answer.
      const running = await startPrimary('routes.mjs', { workers: 2, policy, restartDelay: 3_000 });
      cluster = running;
      const before = [...(await workerPids(running.port, 2))];
      expect(before).toHaveLength(2);
      const crashed = pidOf((await request(running.port, '/crash')).body);
      const survivor = before.find((pid) => pid !== crashed)!;
      await running.waitFor(new RegExp(`pid ${crashed}\\) exited with code 1; starting a replacement in 3000 ms`));
      expect([...(await pidsServing(running.port, 10)).keys()]).toEqual([survivor]);
      const fresh = await running.waitFor(new RegExp(`^worker ready (?!(?:${before.join('|')})$)(\\d+)$`, 'm'));
      const replacement = Number(fresh[1]);
      expect(await workerPids(running.port, 3, 80)).toEqual(new Set([survivor, replacement]));
    });
  }

  for (const policy of [DEFAULT_POLICY, 'round-robin', 'least-connections']) {
    it(`connections waiting for a worker that dies are served by another (${policy})`, async () => {
      const running = await startCli('routes.mjs', ['--workers', '2', '--policy', policy]);
      cluster = running;
      // The dying worker answers, blocks its event loop for 1.5 s (taking no connection) and exits.
      const dying = pidOf((await request(running.port, '/block?ms=1500')).body);
      await running.waitFor(new RegExp(`blocking ${dying}`));
      const sentAt = Date.now();
      const clients = Array.from({ length: 12 }, (_, i) => connectRaw(running.port, getRequest(`/${i}`, { connection: 'close' })));
      const replies = await within(Promise.all(clients.map(async (client) => ({ reply: await client.response(), at: Date.now() - sentAt }))), 8_000, 'answering every connection');
      expect(replies.map(({ reply }) => reply.status)).toEqual(Array(12).fill(200));
      expect(replies.map(({ reply }) => pidOf(reply.body))).not.toContain(dying);
      await running.waitFor(new RegExp(`pid ${dying}\\) exited with code 3`));
      if (policy !== DEFAULT_POLICY) {
        // The primary handed some of them to the blocked worker: those were answered only after it died.
        expect(replies.filter(({ at }) => at >= 1_000).length).toBeGreaterThan(0);
      }
    });
  }
});
