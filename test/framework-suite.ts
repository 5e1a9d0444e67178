import net from 'node:net';
import supertest from 'supertest';
import { afterEach, expect, it } from 'vitest';
import type { ClusterizedServer, ClusterOptions } from '@clusterize/core';
import { fixture, pidsServing, request, run, sleep, workerPids, type Running } from './helpers.ts';
import { churnLoadWhile } from './load.ts';

export interface StartedFixture extends Running {
  url: string;
  port: number;
}

/** Runs a fixture that uses an adapter directly; resolves once its primary printed the address. */
export async function startFixture(name: string, env: Record<string, string> = {}): Promise<StartedFixture> {
  const proc = run([fixture(name)], { env });
  const url = (await proc.waitFor(/listening on (http:\/\/\S+)/))[1]!;
  return { ...proc, url, port: Number(new URL(url).port) };
}

export async function waitUntil(check: () => Promise<boolean>, what: string, timeout = 15_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

const streamed = Array.from({ length: 20 }, (_, i) => `chunk ${i}\n`).join('');

/**
 * What every framework's fixture must do on a real 2-worker cluster (and in-process), the
 * same for each adapter: the fixtures serve `/`, `POST /echo`, `/stream`, `/slow?ms=` and
 * `/crash` alike.
 */
export function itServesOnACluster(fixtureName: string): void {
  let proc: StartedFixture | undefined;
  afterEach(async () => {
    await proc?.close();
    proc = undefined;
  });
  const start = async (env: Record<string, string> = {}) => (proc = await startFixture(fixtureName, env));

  it('serves in-process with CLUSTERIZE_WORKERS=0', async () => {
    const { url, child } = await start({ CLUSTERIZE_WORKERS: '0' });
    await supertest(url).get('/').expect(200, { pid: child.pid });
    await supertest(url).post('/echo').send({ hello: 'world' }).expect(200, { pid: child.pid, body: { hello: 'world' } });
  });

  it('spreads new connections over both workers and never serves from the primary', async () => {
    const { port, child } = await start();
    const pids = await workerPids(port, 2);
    expect(pids.size).toBe(2);
    expect(pids.has(child.pid!)).toBe(false);
  });

  it('passes a JSON POST body intact', async () => {
    const { port } = await start();
    const body = { items: Array.from({ length: 3000 }, (_, i) => ({ i, name: `item ${i}: ünïcødé ✓ "quoted"` })) };
    const reply = await request(port, '/echo', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body).body).toEqual(body);
  });

  it('streams a response intact', async () => {
    const { port } = await start();
    const reply = await request(port, '/stream');
    expect(reply.status).toBe(200);
    expect(reply.headers['transfer-encoding']).toBe('chunked');
    expect(reply.body).toBe(streamed);
  });

  it.each([['on a cluster', {}], ['in-process (CLUSTERIZE_WORKERS=0)', { CLUSTERIZE_WORKERS: '0' }]])('finishes a request in flight on SIGTERM, then exits 0, %s', async (_where, env: Record<string, string>) => {
    const started = await start(env);
    const slow = request(started.port, '/slow?ms=1000');
    await started.waitFor(/slow request started/);
    const exited = started.stop('SIGTERM');
    const reply = await slow;
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ slow: true });
    expect(await exited).toEqual({ code: 0, signal: null });
  });

  it('reloads on SIGHUP under connection churn: nothing dropped, every worker replaced', async () => {
    const started = await start();
    const before = await workerPids(started.port, 2);
    const reloaded = started.waitFor(/reload complete/, 20_000);
    const load = churnLoadWhile(started.port, reloaded.then(() => sleep(200)), { concurrency: 4 });
    started.child.kill('SIGHUP');
    const result = await load;
    expect(result.requests).toBeGreaterThan(20);
    expect({ errors: result.errors, non2xx: result.non2xx, timeouts: result.timeouts }).toEqual({ errors: 0, non2xx: 0, timeouts: 0 });
    const after = await workerPids(started.port, 2);
    expect(after.size).toBe(2);
    expect([...after].filter((pid) => before.has(pid))).toEqual([]);
  });

  it('keeps serving from the other worker when one crashes, and replaces it', async () => {
    const { port, child, waitFor } = await start();
    const before = await workerPids(port, 2);
    const crashed = (JSON.parse((await request(port, '/crash')).body) as { pid: number }).pid;
    await waitFor(/exited with code 1; starting a replacement/);
    const survivor = [...before].find((pid) => pid !== crashed)!;
    // Until the replacement is ready only the survivor serves; after, the survivor or the
    // replacement: never the crashed worker, never the primary, never an error.
    const during = await pidsServing(port, 10);
    expect([...during.keys()].every((pid) => pid === survivor || !before.has(pid))).toBe(true);
    expect(during.has(child.pid!)).toBe(false);
    await waitUntil(async () => [...(await pidsServing(port, 10)).keys()].some((pid) => !before.has(pid)), 'a new worker serves');
  });
}

type Adapter<App> = (appOrFactory: App | (() => App | Promise<App>), options?: ClusterOptions) => {
  listen(...args: unknown[]): ClusterizedServer;
};

/** The adapter's API in-process (`workers: 0`): listen forms, the returned object, listen errors, bad input. */
export function itHasTheAdapterApi<App>(clusterize: Adapter<App>, createApp: () => App, expected: RegExp): void {
  let served: ClusterizedServer | undefined;
  afterEach(async () => {
    await served?.close();
    served = undefined;
  });
  const listen = (appOrFactory: App | (() => App | Promise<App>), ...args: unknown[]) => (served = clusterize(appOrFactory, { workers: 0 }).listen(...args));

  it('listens with (port, host, callback) and returns role, server, ready, address() and close()', async () => {
    const called = Promise.withResolvers<Error | undefined>();
    const result = listen(createApp(), 0, '127.0.0.1', called.resolve);
    expect(result.role).toBe('in-process');
    expect(await called.promise).toBeUndefined();
    const address = await result.ready;
    expect(result.address()).toEqual(address);
    expect(address).toMatchObject({ address: '127.0.0.1' });
    await supertest(result.server!).get('/').expect(200, { pid: process.pid });
    await result.close();
    expect(result.server!.listening).toBe(false);
  });

  it('listens with (options, callback) and builds the app from an async factory', async () => {
    const called = Promise.withResolvers<Error | undefined>();
    const result = listen(async () => createApp(), { port: 0, host: '127.0.0.1' }, called.resolve);
    expect(await called.promise).toBeUndefined();
    await supertest(result.server!).get('/').expect(200, { pid: process.pid });
  });

  it('passes a listen error to the callback', async () => {
    const taken = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => taken.once('listening', resolve));
    const called = Promise.withResolvers<Error | undefined>();
    listen(createApp(), (taken.address() as net.AddressInfo).port, '127.0.0.1', called.resolve);
    expect(await called.promise).toMatchObject({ code: 'EADDRINUSE' });
    taken.close();
  });

  it('rejects what is not an app with ERR_CLUSTERIZE_INVALID_APP', async () => {
    for (const bad of [undefined, null, 42, 'app', {}]) {
      expect(() => clusterize(bad as App)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_CLUSTERIZE_INVALID_APP', message: expect.stringMatching(expected) }));
    }
    const called = Promise.withResolvers<Error | undefined>();
    listen(() => ({}) as App, 0, '127.0.0.1', called.resolve);
    expect(await called.promise).toMatchObject({ code: 'ERR_CLUSTERIZE_INVALID_APP', message: expect.stringMatching(/the factory returned object/) });
  });

  it('rejects bad options with coded errors', () => {
    expect(() => clusterize(createApp(), { workerz: 2 } as ClusterOptions)).toThrow(expect.objectContaining({ code: 'ERR_CLUSTERIZE_UNKNOWN_OPTION' }));
    expect(() => clusterize(createApp(), { workers: -1 })).toThrow(expect.objectContaining({ code: 'ERR_CLUSTERIZE_INVALID_WORKERS' }));
  });
}
