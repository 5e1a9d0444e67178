// --shutdown-delay: after SIGTERM the cluster says it is not ready but keeps serving, so
// that a load balancer's health check takes it out of the pool before the listeners close.
import { afterEach, describe, expect, it } from 'vitest';
import { request, startCli, within, type Started } from './helpers.ts';

const DELAY = 1_500;
let cluster: (Started & { admin: number }) | undefined;

afterEach(async () => {
  await cluster?.stop('SIGKILL');
  cluster = undefined;
});

async function startDelayed() {
  const proc = await startCli('hello.mjs', ['--workers', '2', '--policy', 'round-robin', '--admin-port', '0', '--shutdown-delay', String(DELAY)], { PORT: '0' });
  const admin = Number((await proc.waitFor(/admin server on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
  return { ...proc, admin };
}

describe('--shutdown-delay', () => {
  it('SIGTERM: /readyz answers 503 at once, new connections are served for the delay, then the drain exits 0', async () => {
    cluster = await startDelayed();
    expect((await request(cluster.admin, '/readyz')).status).toBe(200);
    cluster.child.kill('SIGTERM');
    const sentAt = Date.now();
    await cluster.waitFor(/clusterize: SIGTERM received; \/readyz answers 503, serving 1500 ms more \(shutdown delay\), then draining workers/);
    expect((await request(cluster.admin, '/readyz')).status).toBe(503);
    // A reload asked for while the cluster is on its way out is ignored.
    cluster.child.kill('SIGHUP');
    // Each request on a new connection: the listeners still accept late in the delay.
    let lastServed = 0;
    while (Date.now() - sentAt < DELAY - 300) {
      expect((await request(cluster.port, '/')).status).toBe(200);
      lastServed = Date.now() - sentAt;
    }
    expect(lastServed).toBeGreaterThanOrEqual(DELAY - 400);
    expect(await within(cluster.exited, DELAY + 5_000, 'the exit')).toEqual({ code: 0, signal: null });
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(DELAY);
    expect(cluster.output()).toMatch(/clusterize: shutdown delay over; draining workers/);
    expect(cluster.output()).not.toMatch(/SIGHUP received/);
  });

  it('a second SIGTERM during the delay stops at once', async () => {
    cluster = await startDelayed();
    cluster.child.kill('SIGTERM');
    await cluster.waitFor(/\(shutdown delay\)/);
    cluster.child.kill('SIGTERM');
    expect(await within(cluster.exited, DELAY + 10_000, 'the exit')).toEqual({ code: 143, signal: null });
    expect(cluster.output()).toMatch(/clusterize: SIGTERM received again; killing workers/);
    // It did not wait for the delay to end.
    expect(cluster.output()).not.toMatch(/shutdown delay over/);
  });
});
