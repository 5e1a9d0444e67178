import net from 'node:net';
import { policyNames } from '@clusterize/core';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, fixture, run, type Running } from './helpers.ts';

let cluster: Running | undefined;
let occupier: net.Server | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  occupier?.close();
  occupier = undefined;
});

/** A port some other process (this test) is listening on. */
async function occupiedPort(): Promise<number> {
  occupier = net.createServer();
  await new Promise<void>((resolve) => occupier!.listen(0, '127.0.0.1', resolve));
  return (occupier.address() as net.AddressInfo).port;
}

describe('a bind error in the primary reaches the worker', () => {
  for (const policy of policyNames) {
    it(`EADDRINUSE: the worker's server emits 'error' with that code, never 'listening' (${policy})`, async () => {
      const port = await occupiedPort();
      const proc = run([CLI, '--workers', '2', '--policy', policy, fixture('listen.mjs')], { env: { LISTEN: JSON.stringify([port, '127.0.0.1']) } });
      cluster = proc;
      // Held back while the workers start (2 s after their runtime loaded at most, see the supervisor), then written.
      const errors = await proc.waitForCount(/^listen-error (\d+) (.*)$/m, 2, 10_000);
      const pids = errors.map((line) => Number(line[1]));
      expect(new Set(pids).size).toBe(2);
      expect(pids).not.toContain(proc.child.pid);
      for (const line of errors) expect(JSON.parse(line[2]!)).toEqual({ code: 'EADDRINUSE', port });
      expect(proc.output()).not.toMatch(/listen-callback|listening-event/);
      expect(proc.output()).toMatch(new RegExp(`could not listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
      expect(proc.child.exitCode).toBeNull();
    });
  }
});
