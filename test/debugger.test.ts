import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { isAlive, request, sleep, startCli, type Started, until } from './helpers.ts';

let cli: Started | undefined;
afterEach(async () => {
  await cli?.close();
  cli = undefined;
});

/** A Chrome DevTools Protocol session, as a debugger (Chrome, VS Code) opens one. */
async function attach(url: string) {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  let id = 0;
  const events: string[] = [];
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { method?: string };
    if (message.method !== undefined) events.push(message.method);
  });
  const send = (method: string) => socket.send(JSON.stringify({ id: ++id, method }));
  return { send, events, close: () => socket.close() };
}

describe('a worker paused in a debugger', () => {
  it('is not killed as hung while its inspector is open, and serves again once resumed', async () => {
    cli = await startCli('debuggable.mjs', ['--workers', '2', '--heartbeat-timeout', '1000', '--admin-port', '0']);
    const { port } = cli;
    const admin = Number((await cli.waitFor(/admin server on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
    const opened = JSON.parse((await request(port, '/inspect')).body) as { pid: number; inspector: string };
    expect(opened.inspector).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\//);
    // A heartbeat answer tells the primary the inspector is open; GET /workers shows it.
    const inspectorShown = async () => {
      const workers = JSON.parse((await request(admin, '/workers')).body) as { pid: number; inspector: boolean }[];
      return workers.some((worker) => worker.pid === opened.pid && worker.inspector);
    };
    for (const deadline = Date.now() + 10_000; !(await inspectorShown());) {
      if (Date.now() > deadline) throw new Error('GET /workers never showed the open inspector');
      await sleep(50);
    }
    const session = await attach(opened.inspector);
    session.send('Debugger.enable');
    session.send('Debugger.pause');
    // The worker stops at its next JavaScript: the heartbeat handler, which never answers.
    await until(() => session.events.includes('Debugger.paused'), 10_000, 'the pause');
    await cli.waitFor(new RegExp(`pid ${opened.pid}\\) has not answered a heartbeat for \\d+ ms, but its inspector is open`), 10_000);
    // Two more heartbeat timeouts paused: a worker counted as hung would be replaced by now.
    const excusedAt = Date.now();
    await until(() => Date.now() - excusedAt >= 2_000, 5_000, 'two heartbeat timeouts');
    expect(isAlive(opened.pid)).toBe(true);
    expect(cli.output()).not.toMatch(/replacing it/);
    session.send('Debugger.resume');
    session.close();
    // Resumed, it answers again: the same two workers serve.
    const pids = new Set<number>();
    for (let i = 0; i < 200 && !pids.has(opened.pid); i++) pids.add((JSON.parse((await request(port)).body) as { pid: number }).pid);
    expect(pids.has(opened.pid)).toBe(true);
    expect(cli.output()).not.toMatch(/replacing it/);
  }, 30_000);
});
