import http from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { clusterPlugin } from '@clusterize/fastify';
import { request, within } from './helpers.ts';
import { itServesOnACluster, startFixture, type StartedFixture } from './framework-suite.ts';

describe('@clusterize/fastify in-process', () => {
  let fastify: FastifyInstance | undefined;
  afterEach(async () => {
    await fastify?.close();
    fastify = undefined;
  });

  async function inProcess(routes: (app: FastifyInstance) => void = () => {}) {
    fastify = Fastify();
    await fastify.register(clusterPlugin, { workers: 0 });
    fastify.get('/', async () => ({ pid: process.pid }));
    routes(fastify);
    return fastify;
  }

  it('serves and injects in-process, and says so in fastify.cluster', async () => {
    const app = await inProcess();
    expect(app.cluster).toMatchObject({ role: 'in-process', workerId: undefined, primary: undefined });
    expect(app.cluster.send('to nobody')).toBe(false);
    expect((await app.inject('/')).json()).toEqual({ pid: process.pid });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    expect(JSON.parse((await request(Number(new URL(address).port))).body)).toEqual({ pid: process.pid });
  });

  it('lets fastify.close() finish a keep-alive request in flight without waiting out keepAliveTimeout', async () => {
    let started!: () => void;
    const inFlight = new Promise<void>((resolve) => { started = resolve; });
    const app = await inProcess((routes) => routes.get('/slow', async () => {
      started();
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { slow: true };
    }));
    const port = Number(new URL(await app.listen({ port: 0, host: '127.0.0.1' })).port);
    const agent = new http.Agent({ keepAlive: true });
    const reply = request(port, '/slow', { agent, headers: { connection: 'keep-alive' } });
    await inFlight;
    const closed = app.close().then(() => true);
    // Fastify's keepAliveTimeout is 72 s: closing within 10 s proves close() did not wait it out.
    expect(await within(closed, 10_000, 'fastify.close()')).toBe(true);
    expect(await reply).toMatchObject({ status: 200, headers: { connection: 'close' }, body: '{"slow":true}' });
    agent.destroy();
  });

  it('cuts what still runs at shutdownTimeout when fastify.close() drains, and logs how many it cut', async () => {
    const lines: string[] = [];
    fastify = Fastify();
    await fastify.register(clusterPlugin, { workers: 0, shutdownTimeout: 300, signals: false, log: (line) => lines.push(line) });
    let started!: () => void;
    const inFlight = new Promise<void>((resolve) => { started = resolve; });
    fastify.get('/never', () => {
      started();
      return new Promise(() => {});
    });
    const port = Number(new URL(await fastify.listen({ port: 0, host: '127.0.0.1' })).port);
    const reply = request(port, '/never').then(() => 'answered', (error: NodeJS.ErrnoException) => error.code);
    await inFlight;
    expect(await within(fastify.close().then(() => true), 5_000, 'fastify.close()')).toBe(true);
    expect(await reply).toBe('ECONNRESET');
    expect(lines).toEqual(['clusterize: fastify.close() cut 1 open connection at the shutdown deadline (shutdownTimeout 300 ms)']);
  });

  it('rejects bad options with coded errors', async () => {
    await expect(Fastify().register(clusterPlugin, { workers: 'many' as never })).rejects.toMatchObject({ code: 'ERR_CLUSTERIZE_INVALID_WORKERS' });
    await expect(Fastify().register(clusterPlugin, { workerz: 2 } as never)).rejects.toMatchObject({ code: 'ERR_CLUSTERIZE_UNKNOWN_OPTION' });
    await expect(Fastify().register(clusterPlugin, { shutdownTimeout: -1 })).rejects.toMatchObject({ code: 'ERR_CLUSTERIZE_INVALID_OPTION' });
  });
});

describe('@clusterize/fastify on a cluster', () => {
  itServesOnACluster('fastify-app.mjs');

  let proc: StartedFixture | undefined;
  afterEach(async () => {
    await proc?.close();
    proc = undefined;
  });

  it("resolves the primary's fastify.listen() with the workers' address and logs it", async () => {
    proc = await startFixture('fastify-app.mjs');
    // Fastify's logger writes asynchronously: the line may come after the fixture's own.
    await proc.waitFor(new RegExp(`"pid":${proc.child.pid},.*"msg":"Server listening at ${proc.url}"`));
  });

  it('decorates fastify.cluster in each worker, and send() reaches the primary', async () => {
    proc = await startFixture('fastify-app.mjs');
    const seen = new Set<number>();
    while (seen.size < 2) {
      const info = JSON.parse((await request(proc.port, '/cluster')).body) as { role: string; workerId: number };
      expect(info.role).toBe('worker');
      seen.add(info.workerId);
    }
    expect([...seen].sort()).toEqual([1, 2]);
    const sent = await request(proc.port, '/notify', { method: 'POST', body: '{"hello":"primary"}', headers: { 'content-type': 'application/json' } });
    expect(JSON.parse(sent.body)).toEqual({ sent: true });
    await proc.waitFor(/primary got \{"hello":"primary"\} from worker [12]/);
  });

  it("runs each worker's onClose hooks on SIGTERM, then the primary's", async () => {
    proc = await startFixture('fastify-app.mjs');
    expect(await proc.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const output = proc.output();
    expect(output).toMatch(/onClose ran in worker 1/);
    expect(output).toMatch(/onClose ran in worker 2/);
    const primaryClosed = output.indexOf('onClose ran in the primary');
    expect(primaryClosed).toBeGreaterThan(output.lastIndexOf('onClose ran in worker'));
  });

  it("drains the cluster when the primary's fastify.close() runs, finishing requests in flight", async () => {
    proc = await startFixture('fastify-app.mjs');
    const slow = request(proc.port, '/slow?ms=1000');
    await proc.waitFor(/slow request started/);
    proc.child.kill('SIGUSR2');
    expect(await slow).toMatchObject({ status: 200 });
    await proc.waitFor(/primary closed fastify/);
    expect(await proc.exited).toEqual({ code: 0, signal: null });
  });
});
