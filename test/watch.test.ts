// --watch: an edit reloads the workers without downtime; an edit that does not start keeps
// the old workers serving and says which file and line.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CLI, request, run, type Running } from './helpers.ts';
import { keepAliveLoadWhile } from './load.ts';

const dir = mkdtempSync(join(tmpdir(), 'clusterize-watch-'));
const script = join(dir, 'app.mjs');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The app at `version`: it answers with its pid and version; `broken` puts a syntax error on line 3. */
function source(version: number, broken = false): string {
  return [
    `// version ${version}`,
    "import http from 'node:http';",
    broken ? 'const = ;' : '',
    'http.createServer((req, res) => {',
    "  res.setHeader('x-worker-pid', String(process.pid));",
    `  res.end(JSON.stringify({ pid: process.pid, version: ${version} }));`,
    "}).listen(0, '127.0.0.1');",
    '',
  ].join('\n');
}

const escape = (text: string) => text.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&');

let cli: Running | undefined;
afterEach(async () => {
  await cli?.close();
  cli = undefined;
});

/** The version each of 2 workers answers new connections with, by pid (asking until both have answered). */
async function serving(port: number): Promise<Map<number, number>> {
  const answers = new Map<number, number>();
  for (let i = 0; i < 200 && answers.size < 2; i++) {
    const { pid, version } = JSON.parse((await request(port)).body) as { pid: number; version: number };
    answers.set(pid, version);
  }
  return answers;
}

describe('--watch', () => {
  it('3 edits under keep-alive load: each reloads onto new workers with the new code, nothing refused; a syntax error keeps the old workers and names file:line', async () => {
    writeFileSync(script, source(1));
    cli = run([CLI, '--workers', '2', '--watch', script]);
    const running = cli;
    const port = Number((await running.waitFor(/2 workers ready on 127\.0\.0\.1:(\d+)/, 20_000))[1]);
    expect(running.output()).toMatch(/clusterize: watching \S+ for changes/);
    const seen = new Set((await serving(port)).keys());

    const edits = async () => {
      for (const version of [2, 3, 4]) {
        if (version === 2) {
          // Written in the folder at the same moment: none of them counts.
          mkdirSync(join(dir, 'node_modules', 'dep'), { recursive: true });
          writeFileSync(join(dir, 'node_modules', 'dep', 'index.js'), 'module.exports = 1;\n');
          writeFileSync(join(dir, 'server.log'), 'a log line\n');
          writeFileSync(join(dir, '.app.mjs.swp'), 'vim swap');
        }
        if (version === 3) {
          // As editors that save by writing a new file and renaming it over the old one.
          writeFileSync(`${script}.tmp`, source(version));
          renameSync(`${script}.tmp`, script);
        } else {
          writeFileSync(script, source(version));
        }
        await running.waitForCount(/clusterize: reload complete/, version - 1, 30_000);
        const now = await serving(port);
        expect([...now.values()]).toEqual([version, version]);
        for (const pid of now.keys()) expect(seen.has(pid), `worker ${pid} served an older release`).toBe(false);
        for (const pid of now.keys()) seen.add(pid);
      }
      writeFileSync(script, source(5, true));
      await running.waitFor(new RegExp(`clusterize: the change to ${escape(script)} did not start: SyntaxError: .* \\(${escape(script)}:3\\); the old workers keep serving`), 30_000);
    };
    const result = await keepAliveLoadWhile(port, edits(), { connections: 10 });

    expect({ errors: result.errors, non2xx: result.non2xx, timeouts: result.timeouts }).toEqual({ errors: 0, non2xx: 0, timeouts: 0 });
    expect(result.requests).toBeGreaterThan(100);
    expect(seen.size).toBe(2 + 3 * 2);
    // Each edit was one change of the script alone, one reload.
    const changes = running.output().match(/^clusterize: .* changed; reloading workers one by one$/gm);
    expect(changes).toEqual(Array(4).fill(`clusterize: ${script} changed; reloading workers one by one`));
    // The old workers of release 4 still serve.
    expect([...(await serving(port)).values()]).toEqual([4, 4]);

    writeFileSync(script, source(6));
    await running.waitForCount(/clusterize: reload complete/, 4, 30_000);
    expect([...(await serving(port)).values()]).toEqual([6, 6]);
  }, 90_000);
});
