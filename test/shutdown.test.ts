import http from 'node:http';
import { DEFAULT_POLICY, EXIT_CUT_AT_DEADLINE } from '@clusterize/core';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, request, startCli, startPrimary, tryListen, within, type Started } from './helpers.ts';

let cluster: Started | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const SLOW = '/slow?ms=1500';

describe('graceful shutdown', () => {
  for (const policy of [DEFAULT_POLICY, 'round-robin']) {
    it(`SIGTERM: slow in-flight requests complete, the primary exits 0 and the port is free (${policy})`, async () => {
      const running = await startCli('routes.mjs', ['--workers', '2', '--policy', policy]);
      cluster = running;
      const agent = new http.Agent({ keepAlive: true });
      const slow = [
        ...Array.from({ length: 4 }, () => request(running.port, SLOW)),
        request(running.port, SLOW, { agent, headers: { connection: 'keep-alive' } }),
      ];
      await running.waitForCount(/slow request \d+/, slow.length);
      running.child.kill('SIGTERM');
      const replies = await within(Promise.all(slow), 5_000, 'answering the in-flight requests');
      expect(replies.map((reply) => reply.status)).toEqual([200, 200, 200, 200, 200]);
      // The keep-alive connection is told to close with its last response.
      expect(replies[4]!.headers.connection).toBe('close');
      agent.destroy();
      expect(await within(running.exited, 5_000, 'the primary exiting')).toEqual({ code: 0, signal: null });
      const workers = new Set(replies.map((reply) => (JSON.parse(reply.body) as { pid: number }).pid));
      expect([...workers].filter(isAlive)).toEqual([]);
      expect(await tryListen(running.port)).toBe('listening');
    });
  }

  it('Ctrl-C (SIGINT to the whole process group): workers keep serving, the primary drains and exits 0', async () => {
    const running = await startCli('routes.mjs', ['--workers', '2'], {}, { detached: true });
    cluster = running;
    const slow = request(running.port, SLOW).then((reply) => ({ reply, at: Date.now() }));
    const exited = running.exited.then((exit) => ({ exit, at: Date.now() }));
    await running.waitFor(/slow request \d+/);
    process.kill(-running.child.pid!, 'SIGINT');
    const answered = await within(slow, 5_000, 'answering the in-flight request');
    expect(answered.reply.status).toBe(200);
    const primary = await within(exited, 5_000, 'the primary exiting');
    expect(primary.exit).toEqual({ code: 0, signal: null });
    // The primary waited for the request instead of leaving its workers behind.
    expect(primary.at).toBeGreaterThanOrEqual(answered.at);
    expect(await tryListen(running.port)).toBe('listening');
  });

  it(`a request still running at the shutdown deadline is cut: its connection closes, the primary names the count and exits ${EXIT_CUT_AT_DEADLINE}`, async () => {
    const running = await startCli('routes.mjs', ['--workers', '1', '--shutdown-timeout', '1000']);
    cluster = running;
    const slow = request(running.port, '/slow?ms=20000').then(() => 'answered', (error: NodeJS.ErrnoException) => error.code);
    await running.waitFor(/slow request \d+/);
    running.child.kill('SIGTERM');
    expect(await within(slow, 5_000, 'the cut request failing')).toBe('ECONNRESET');
    await running.waitFor(/clusterize: worker 1 \(pid \d+\) cut 1 open connection at the shutdown deadline \(shutdownTimeout 1000 ms\)/);
    expect(await within(running.exited, 5_000, 'the primary exiting')).toEqual({ code: EXIT_CUT_AT_DEADLINE, signal: null });
    expect(running.output()).toMatch(/the shutdown deadline cut 1 connection and killed 0 workers; exiting with status 3/);
  });

  it(`a worker killed at the drain deadline makes the primary exit ${EXIT_CUT_AT_DEADLINE}`, async () => {
    const running = await startCli('routes.mjs', ['--workers', '1', '--shutdown-timeout', '300']);
    cluster = running;
    // The worker answers, then blocks its event loop well past shutdownTimeout + 1 s.
    await request(running.port, '/block?ms=10000');
    await running.waitFor(/blocking \d+/);
    running.child.kill('SIGTERM');
    await running.waitFor(/did not finish within 300 ms; killing it/);
    expect(await within(running.exited, 5_000, 'the primary exiting')).toEqual({ code: EXIT_CUT_AT_DEADLINE, signal: null });
    expect(running.output()).toMatch(/cut 0 connections and killed 1 worker; exiting with status 3/);
  });

  it('shutdown() resolves with what the deadline cut', async () => {
    const running = await startPrimary('routes.mjs', { workers: 1, shutdownTimeout: 500, signals: false });
    cluster = running;
    const slow = request(running.port, '/slow?ms=20000').catch((error: NodeJS.ErrnoException) => error.code);
    await running.waitFor(/slow request \d+/);
    running.child.kill('SIGUSR2');
    await running.waitFor(/api: shutdown \{"cutConnections":1,"killedWorkers":0,"clean":false\}/, 5_000);
    expect(await slow).toBe('ECONNRESET');
  });
});
