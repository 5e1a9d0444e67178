import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_POLICY, policyNames } from '@clusterize/core';
import { afterEach, describe, expect, it } from 'vitest';
import { request, startCli, type Running } from './helpers.ts';


let cluster: Running | undefined;
let tmp: string | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  tmp = undefined;
});

const ipv6 = await new Promise<boolean>((resolve) => {
  const probe = net.createServer();
  probe.once('error', () => resolve(false));
  probe.listen(0, '::1', () => probe.close(() => resolve(true)));
});

/** Starts 2 workers of fixtures/listen.mjs calling server.listen(...listenArgs). */
async function startListening(listenArgs: unknown[], policy: string) {
  const started = await startCli('listen.mjs', ['--workers', '2', '--policy', policy], { LISTEN: JSON.stringify(listenArgs) });
  cluster = started;
  const reports = async (what: string) => {
    const lines = await started.waitForCount(new RegExp(`^${what} (\\d+) (.*)$`, 'm'), 2);
    return lines.map((line) => ({ pid: Number(line[1]), address: JSON.parse(line[2]!) as unknown }));
  };
  return { ...started, events: await reports('listening-event'), callbacks: await reports('listen-callback') };
}

/** Each of the two workers reported `expected` from 'listening' and from the listen callback. */
function expectBothWorkersReport(started: Awaited<ReturnType<typeof startListening>>, expected: unknown) {
  for (const reports of [started.events, started.callbacks]) {
    expect(new Set(reports.map((report) => report.pid)).size).toBe(2);
    expect(reports.map((report) => report.pid)).not.toContain(started.child.pid);
    expect(reports.map((report) => report.address)).toEqual([expected, expected]);
  }
}

describe('listen forms in a worker', () => {
  for (const policy of policyNames) {
    it(`port 0: every worker gets the one port the primary bound, with 'listening' and the callback (${policy})`, async () => {
      const started = await startListening([0, '127.0.0.1'], policy);
      expect(started.port).toBeGreaterThan(0);
      const expected = { address: '127.0.0.1', family: 'IPv4', port: started.port };
      expectBothWorkersReport(started, expected);
      const reply = await request(started.port);
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body)).toMatchObject({ address: expected });
    });
  }

  it('an options object ({ port: 0, host }) listens like positional arguments', async () => {
    const started = await startListening([{ port: 0, host: '127.0.0.1' }], DEFAULT_POLICY);
    expectBothWorkersReport(started, { address: '127.0.0.1', family: 'IPv4', port: started.port });
    expect((await request(started.port)).status).toBe(200);
  });

  for (const policy of [DEFAULT_POLICY, 'round-robin']) {
    it(`a Unix socket path: served through socketPath, file removed after shutdown (${policy})`, async () => {
      tmp = await mkdtemp(join(tmpdir(), 'clusterize-'));
      const path = join(tmp, 'server.sock');
      const started = await startListening([path], policy);
      expect(started.address).toBe(path);
      expectBothWorkersReport(started, path);
      const workerPids = started.events.map((report) => report.pid);
      for (let i = 0; i < 4; i++) {
        const reply = await request(0, '/', { socketPath: path });
        expect(reply.status).toBe(200);
        const body = JSON.parse(reply.body) as { pid: number; address: unknown };
        expect(workerPids).toContain(body.pid);
        expect(body.address).toBe(path);
      }
      expect(await started.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      expect(existsSync(path)).toBe(false);
    });
  }

  for (const policy of [DEFAULT_POLICY, 'round-robin']) {
    it.skipIf(!ipv6)(`IPv6 on ::1 (${policy})${ipv6 ? '' : ' [skipped: this machine cannot bind ::1]'}`, async () => {
      const started = await startListening([0, '::1'], policy);
      const expected = { address: '::1', family: 'IPv6', port: started.port };
      expectBothWorkersReport(started, expected);
      const reply = await request(started.port, '/', { host: '::1' });
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body)).toMatchObject({ address: expected });
    });
  }
});
