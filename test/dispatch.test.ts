import { policyNames } from '@clusterize/core';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRaw, getRequest, startCli, within, type Started } from './helpers.ts';

let cluster: Started | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const CONNECTIONS = 200;

describe('connection dispatch', () => {
  for (const policy of policyNames) {
    it(`${CONNECTIONS} concurrent new connections that send their request at once are all answered (${policy})`, async () => {
      cluster = await startCli('hello.mjs', ['--workers', '2', '--policy', policy]);
      const { port } = cluster;
      const clients = Array.from({ length: CONNECTIONS }, (_, i) => connectRaw(port, getRequest(`/${i}`, { connection: 'close' })));
      const settled = await within(Promise.allSettled(clients.map((client) => client.response())), 10_000, `${CONNECTIONS} responses`);
      const failures = settled.flatMap((result, i) => (result.status === 'rejected' ? [`#${i}: ${(result.reason as Error).message}`] : []));
      expect(failures).toEqual([]);
      const replies = settled.map((result) => (result as PromiseFulfilledResult<{ status: number; body: string }>).value);
      expect(replies.filter((reply) => reply.status !== 200)).toEqual([]);
      const bodies = replies.map((reply) => JSON.parse(reply.body) as { pid: number; url: string });
      // Each connection got the answer to its own request, from a worker.
      expect(bodies.map((body) => body.url)).toEqual(clients.map((_, i) => `/${i}`));
      expect(bodies.map((body) => body.pid)).not.toContain(cluster.child.pid);
    });
  }
});
