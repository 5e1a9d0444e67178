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
  const cases = [
    { breakWhat: 'createServerHandle', says: `net\\._createServerHandle is missing in Node ${version}` },
    { breakWhat: 'getServer', says: `net\\.Server#listen\\(\\) no longer calls cluster\\._getServer outside the primary in Node ${version}` },
  ];
  for (const { breakWhat, says } of cases) {
    it(`in the workers (${breakWhat}): the primary stops at once with the worker's line naming it, exit 2`, async () => {
      const running = startBroken(breakWhat, 'worker');
      const exit = await within(running.exited, 10_000, 'the primary exiting');
      expect(exit).toEqual({ code: 2, signal: null });
      const line = new RegExp(`^clusterize: Node\\.js internals changed: worker \\d+ \\(pid \\d+\\): ${says} \\[ERR_CLUSTERIZE_NODE_INTERNALS\\]$`, 'm');
      expect(running.output()).toMatch(line);
      // The first worker's exit stopped the cluster: no start-up retries, no ready timeout.
      expect(running.output()).not.toMatch(/starting a replacement|ERR_CLUSTERIZE_START_FAILED|not ready within/);
    });
  }

  it('in the primary: createCluster refuses with the line naming it, exit 2, no worker forked', async () => {
    const running = startBroken('createServerHandle', 'primary');
    expect(await within(running.exited, 10_000, 'the primary exiting')).toEqual({ code: 2, signal: null });
    expect(running.output().trim()).toMatch(new RegExp(`^clusterize: Node\\.js internals changed: net\\._createServerHandle is missing in Node ${version} \\[ERR_CLUSTERIZE_NODE_INTERNALS\\]$`));
  });
});
