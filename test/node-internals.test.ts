import { afterEach, describe, expect, it } from 'vitest';
import { CLI, fixture, run, within, type Running } from './helpers.ts';

let cluster: Running | undefined;
afterEach(async () => {
  await cluster?.stop('SIGKILL');
  cluster = undefined;
});

/** `node --import <break-node-internals> clusterize hello.mjs`: the workers inherit the preload. */
function startBroken(breakWhat: string, breakIn: 'primary' | 'worker'): Running {
  const running = run(['--import', fixture('break-node-internals.mjs'), CLI, '--workers', '2', fixture('hello.mjs')], {
    env: { BREAK: breakWhat, BREAK_IN: breakIn },
  });
  cluster = running;
  return running;
}

const version = process.versions.node.replaceAll('.', '\\.');

describe('a Node.js internal clusterize relies on has changed', () => {
  // What each worker self-test says, with the break that makes it fire (node-internals.ts numbers them).
  const cases = [
    { breakWhat: 'createServerHandle', says: `net\\._createServerHandle is missing` },
    { breakWhat: 'handleMethods', says: `net\\._createServerHandle\\(\\) returns a handle without getsockname\\(\\)` },
    { breakWhat: 'getServer', says: `net\\.Server#listen\\(\\) no longer calls cluster\\._getServer outside the primary` },
    { breakWhat: 'adoption', says: `net\\.Server no longer adopts the handle cluster\\._getServer gives it \\(onconnection unset\\)` },
    { breakWhat: 'connection', says: `a client handle given to a server's onconnection no longer reaches its 'connection' listeners` },
    { breakWhat: 'remoteAddress', says: `net\\.Socket#remoteAddress no longer comes from its handle's getpeername\\(\\)` },
    { breakWhat: 'internalMessage', says: `child_process no longer handles its NODE_ messages on 'internalMessage'` },
    { breakWhat: 'ownSend', says: `process\\._send, child_process's send for its own messages, is missing` },
    { breakWhat: 'unrefCounted', says: `process\\.channel\\.unrefCounted is missing` },
    { breakWhat: 'setBlocking', says: `a pipe's handle \\(process\\.stdout\\._handle\\) has no setBlocking\\(\\)` },
    { breakWhat: 'fchmod', says: `a pipe's handle \\(process\\.stdout\\._handle\\) has no fchmod\\(\\)` },
    { breakWhat: 'httpMessage', says: `socket\\._httpMessage no longer holds the response an HTTP server is writing on a connection` },
    { breakWhat: 'header', says: `response\\._header no longer holds the head a response sent \\(headersSent does not read it\\)` },
  ];
  for (const { breakWhat, says } of cases) {
    it(`in the workers (${breakWhat}): the primary stops at once with the worker's line naming it, exit 2`, async () => {
      const running = startBroken(breakWhat, 'worker');
      const exit = await within(running.exited, 10_000, 'the primary exiting');
      expect(exit).toEqual({ code: 2, signal: null });
      const line = new RegExp(`^clusterize: Node\\.js internals changed: worker \\d+ \\(pid \\d+\\): ${says} in Node ${version} \\[ERR_CLUSTERIZE_NODE_INTERNALS\\]$`, 'm');
      expect(running.output()).toMatch(line);
      // The first worker's exit stopped the cluster: no start-up retries, no ready timeout.
      expect(running.output()).not.toMatch(/starting a replacement|ERR_CLUSTERIZE_START_FAILED|not ready within/);
    });
  }

  const primaryCases = [
    { breakWhat: 'createServerHandle', says: `net\\._createServerHandle is missing` },
    { breakWhat: 'handleMethods', says: `net\\._createServerHandle\\(\\) returns a handle without getsockname\\(\\)` },
    { breakWhat: 'remoteAddress', says: `new net\\.Socket\\(\\{ handle \\}\\) no longer reads remoteAddress from the handle's getpeername\\(\\)` },
  ];
  for (const { breakWhat, says } of primaryCases) {
    it(`in the primary (${breakWhat}): createCluster refuses with the line naming it, exit 2, no worker forked`, async () => {
      const running = startBroken(breakWhat, 'primary');
      expect(await within(running.exited, 10_000, 'the primary exiting')).toEqual({ code: 2, signal: null });
      expect(running.output().trim()).toMatch(new RegExp(`^clusterize: Node\\.js internals changed: ${says} in Node ${version} \\[ERR_CLUSTERIZE_NODE_INTERNALS\\]$`));
    });
  }

  it('in-process (httpMessage): listen() fails with the coded error naming it, before serving', async () => {
    const running = run(['--import', fixture('break-node-internals.mjs'), fixture('express-app.mjs')], {
      env: { BREAK: 'httpMessage', BREAK_IN: 'primary', CLUSTERIZE_WORKERS: '0' },
    });
    cluster = running;
    expect(await within(running.exited, 10_000, 'the process exiting')).toEqual({ code: 1, signal: null });
    // The fixture's listen callback throws the error it got: Node prints it and exits 1.
    expect(running.output()).toMatch(new RegExp(`^Error: Node\\.js internals changed: socket\\._httpMessage no longer holds the response an HTTP server is writing on a connection in Node ${version}$`, 'm'));
    expect(running.output()).toMatch(/code: 'ERR_CLUSTERIZE_NODE_INTERNALS'/);
    expect(running.output()).not.toMatch(/listening/);
  });
});
