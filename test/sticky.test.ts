import { afterEach, describe, expect, it } from 'vitest';
import { request, startCli, within, type Started } from './helpers.ts';

let cli: Started | undefined;

afterEach(async () => {
  await cli?.close();
  cli = undefined;
});

/** 40 client addresses on loopback (Linux routes all of 127.0.0.0/8 there). */
const addresses = Array.from({ length: 40 }, (_, i) => `127.0.${1 + (i >> 4)}.${1 + (i & 15)}`);

/** The pid serving each address, asking `times` times per address on a new connection each time; throws if one address reaches two pids. */
async function pidByAddress(port: number, times = 3): Promise<Map<string, number>> {
  const byAddress = new Map<string, number>();
  for (const localAddress of addresses) {
    const pids = new Set<number>();
    for (let i = 0; i < times; i++) {
      const reply = await request(port, '/', { localAddress });
      pids.add((JSON.parse(reply.body) as { pid: number }).pid);
    }
    expect([...pids], `connections from ${localAddress}`).toHaveLength(1);
    byAddress.set(localAddress, [...pids][0]!);
  }
  return byAddress;
}

/** Addresses grouped by the worker that serves them, as sets of addresses (pids left out). */
function groups(byAddress: Map<string, number>): string[][] {
  const byPid = new Map<number, string[]>();
  for (const [address, pid] of byAddress) byPid.set(pid, [...byPid.get(pid) ?? [], address]);
  return [...byPid.values()].map((group) => group.sort()).sort((a, b) => a[0]!.localeCompare(b[0]!));
}

describe('sticky policy', () => {
  it('every connection from one client address reaches one worker, and both workers get a share', async () => {
    cli = await startCli('hello.mjs', ['--workers', '2', '--policy', 'sticky'], { PORT: '0' });
    const byAddress = await pidByAddress(cli.port);
    const shares = groups(byAddress).map((group) => group.length);
    expect(shares).toHaveLength(2);
    expect(Math.min(...shares)).toBeGreaterThanOrEqual(8);
  });

  it('after a SIGHUP reload each address again maps to one worker, with the same addresses together', async () => {
    cli = await startCli('hello.mjs', ['--workers', '2', '--policy', 'sticky'], { PORT: '0' });
    const before = await pidByAddress(cli.port);
    cli.child.kill('SIGHUP');
    await cli.waitFor(/reload complete/, 20_000);
    const after = await pidByAddress(cli.port);
    const oldPids = new Set(before.values());
    expect([...new Set(after.values())].some((pid) => oldPids.has(pid))).toBe(false);
    // The replacements took over their predecessors' slots: the clients stay grouped.
    expect(groups(after)).toEqual(groups(before));
  }, 30_000);

  it("after a crash the replacement takes the crashed worker's addresses; the survivor keeps its own", async () => {
    cli = await startCli('hello.mjs', ['--workers', '2', '--policy', 'sticky'], { PORT: '0' });
    const { port } = cli;
    const before = await pidByAddress(cli.port);
    const [crashed, survivor] = [...new Set(before.values())];
    const crashedAddress = [...before].find(([, pid]) => pid === crashed)![0];
    process.kill(crashed!, 'SIGKILL');
    // Until the replacement is ready the survivor serves the crashed worker's clients.
    const replacement = await within((async () => {
      for (;;) {
        const { pid } = JSON.parse((await request(port, '/', { localAddress: crashedAddress })).body) as { pid: number };
        if (pid !== crashed && pid !== survivor) return pid;
      }
    })(), 10_000, 'a replacement serving the crashed worker\'s clients');
    const after = await pidByAddress(port);
    for (const [address, pid] of before) expect(after.get(address), address).toBe(pid === crashed ? replacement : survivor);
  }, 30_000);
});
