// Node.js flags for the workers from the CLI: --node-option, --node-args, Node's own flags
// before the script, and --env-file. Each reaches every worker, and only the workers.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { fixture, request, startCli, type Started } from './helpers.ts';

const preload = fixture('preload.mjs');
const scratch = mkdtempSync(join(tmpdir(), 'clusterize-node-flags-'));
const envFile = join(scratch, 'app.env');
writeFileSync(envFile, 'FROM_ENV_FILE=from the file\n');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let cluster: Started | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

interface Answer {
  pid: number;
  execArgv: string[];
  preloadedIn: number | null;
  fromEnvFile: string | null;
}

/** What each of `count` workers answers, asking until each has (new connections land where the kernel puts them). */
async function answers(port: number, count: number): Promise<Answer[]> {
  const seen = new Map<number, Answer>();
  for (let i = 0; i < 200 && seen.size < count; i++) {
    const answer = JSON.parse((await request(port)).body) as Answer;
    seen.set(answer.pid, answer);
  }
  expect(seen.size).toBe(count);
  return [...seen.values()];
}

/** The pids the preload printed it ran in. */
const preloadPids = (output: string) => [...output.matchAll(/^preload ran in pid (\d+)$/gm)].map((match) => Number(match[1]));
const primaryPid = (output: string) => Number(/clusterize: primary (\d+) starting/.exec(output)![1]);

describe('Node.js flags reach the workers, not the primary', () => {
  it('--node-option --import=<preload>, --node-option --max-old-space-size=100 and --env-file', async () => {
    cluster = await startCli('node-flags-app.mjs', ['--workers', '2', '--node-option', `--import=${preload}`, '--node-option=--max-old-space-size=100', '--env-file', envFile]);
    const workers = await answers(cluster.port, 2);
    for (const worker of workers) {
      expect(worker.preloadedIn).toBe(worker.pid);
      expect(worker.execArgv).toEqual(expect.arrayContaining([`--import=${preload}`, '--max-old-space-size=100', `--env-file=${envFile}`]));
      expect(worker.fromEnvFile).toBe('from the file');
    }
    const ranIn = preloadPids(cluster.output());
    expect(ranIn.toSorted()).toEqual(workers.map((worker) => worker.pid).toSorted());
    expect(ranIn).not.toContain(primaryPid(cluster.output()));
  });

  it("Node's own flags before the script, a value in the next argument (--import <preload>), and --node-args", async () => {
    cluster = await startCli('node-flags-app.mjs', ['--workers', '2', '--import', preload, '--node-args', '--max-old-space-size=120 --no-warnings']);
    const workers = await answers(cluster.port, 2);
    for (const worker of workers) {
      expect(worker.preloadedIn).toBe(worker.pid);
      expect(worker.execArgv).toEqual(expect.arrayContaining(['--import', preload, '--max-old-space-size=120', '--no-warnings']));
      expect(worker.fromEnvFile).toBeNull();
    }
    expect(preloadPids(cluster.output())).not.toContain(primaryPid(cluster.output()));
  });
});
