import { afterEach, describe, expect, it } from 'vitest';
import { request, startCli, within, type Started } from './helpers.ts';

let cluster: Started | undefined;
afterEach(async () => {
  await cluster?.stop('SIGKILL');
  cluster = undefined;
});

const MB = 1024 * 1024;
const get = async <T>(port: number, path: string): Promise<T> => {
  const reply = await request(port, path);
  expect(reply.status).toBe(200);
  return JSON.parse(reply.body) as T;
};

interface Secrets {
  pid: number;
  environ: string[];
  env: string[];
  socketsAtStart: number[];
  keys: string[];
  names: string[];
  jsonKeys: string[];
  tokenIn: boolean;
}

describe("the primary/worker IPC channel's hardening", () => {
  it('the token reaches a worker outside its environment, through a pipe closed before the app runs, and currentWorker() does not show it', async () => {
    const running = await startCli('ipc-hardening.mjs', ['--workers', '1']);
    cluster = running;
    const secrets = await get<Secrets>(running.port, '/secrets');
    // /proc/self/environ keeps a process's initial environment whatever it deletes later.
    expect(secrets.environ).not.toContain('CLUSTERIZE_TOKEN');
    expect(secrets.env).toEqual([]);
    // No socket past stdio and the IPC channel is left open for the app (or what it spawns).
    expect(secrets.socketsAtStart).toEqual([]);
    expect(secrets.keys).not.toContain('token');
    expect(secrets.names).toEqual([]);
    expect(secrets.jsonKeys).toEqual([]);
    expect(secrets.tokenIn).toBe(false);

    // A process the app forks inherits its flags (the worker preload) and environment: it
    // starts as a plain process, with nothing of the token either.
    const child = await get<{ worker: boolean; sockets: number[]; environ: string[]; env: string[] }>(running.port, '/child');
    expect(child).toEqual({ worker: false, sockets: [], environ: [], env: [] });
    expect((await request(running.port)).status).toBe(200);
  });

  it('a flood of forged protocol messages costs a few log lines, each message counted, while the cluster keeps serving', async () => {
    const running = await startCli('ipc-hardening.mjs', ['--workers', '2']);
    cluster = running;
    const { pid } = await get<{ pid: number }>(running.port, '/flood?ms=3000');
    const statuses = new Set<number>();
    const flooded = running.waitFor(/flooded (\d+)/, 20_000);
    let done = false;
    void flooded.finally(() => { done = true; }).catch(() => {});
    while (!done) statuses.add((await request(running.port)).status);
    const sent = Number((await flooded)[1]);
    expect(sent).toBeGreaterThan(10_000);
    expect([...statuses]).toEqual([200]);

    // Every forged message is accounted for: the first one's line, then one line per second with a count.
    const lines = new RegExp(`clusterize: ignored (a|\\d+) messages? from worker \\d+ \\(pid ${pid}\\)[^\\n]*: wrong or missing token`, 'g');
    const counted = () => [...running.output().matchAll(lines)].reduce((sum, [, count]) => sum + (count === 'a' ? 1 : Number(count)), 0);
    await within(new Promise<void>((resolve) => {
      const check = () => (counted() >= sent ? resolve() : setTimeout(check, 100));
      check();
    }), 20_000, `counting all ${sent} forged messages`);
    expect(counted()).toBe(sent);
    const warnings = running.output().split('\n').filter((line) => line.startsWith('clusterize: ignored'));
    expect(warnings.length).toBeLessThanOrEqual(10);
    expect(running.child.exitCode).toBeNull();
    expect((await request(running.port)).status).toBe(200);
  });

  it('process.send() refuses an app message above maxMessageSize with a coded RangeError; the primary survives larger ones sent past it', async () => {
    const running = await startCli('ipc-hardening.mjs', ['--workers', '1', '--max-message-size', '1']);
    cluster = running;
    const { pid } = await get<{ pid: number }>(running.port, '/');
    expect(await get(running.port, `/send?bytes=${MB}`)).toEqual({ outcome: 'sent' });
    const refused = { outcome: 'ERR_CLUSTERIZE_MESSAGE_TOO_LARGE', name: 'RangeError', called: false };
    expect(await get(running.port, `/send?bytes=${MB + 1}`)).toEqual(refused);
    // The limit counts bytes on the wire: two-byte characters reach it at half the length.
    expect(await get(running.port, `/send?bytes=${MB + 1}&char=%C3%A9`)).toEqual(refused);

    // An app can still write to the raw channel: the primary pays in memory, and keeps serving.
    expect(await get(running.port, '/raw?count=3&mb=20')).toEqual(['sent', 'sent', 'sent']);
    expect(await get(running.port, '/')).toEqual({ pid });
    expect(running.child.exitCode).toBeNull();
    expect(running.output()).not.toMatch(/clusterize: (ignored|error)/);
  });
});
