// `npm run demo`: each example clustered with 2 workers, loaded by autocannon for a few
// seconds, then stopped with SIGTERM; prints one table and fails unless every example
// served from both workers without an error and exited 0.
import { fileURLToPath } from 'node:url';
import { measureLoad } from '../bench/load.ts';
import { start } from '../bench/process.ts';
import { table } from '../bench/report.ts';

const WORKERS = 2;
const SECONDS = 4;
const CONNECTIONS = 50;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

const frameworks = ['express', 'fastify', 'koa'];
const rows: string[][] = [];
const failures: string[] = [];

for (const framework of frameworks) {
  const script = fileURLToPath(new URL(`./${framework}.ts`, import.meta.url));
  process.stderr.write(`demo: ${framework} with ${WORKERS} workers, ${SECONDS} s of load...\n`);
  const proc = start(process.execPath, [script], { PORT: '0', WORKERS: String(WORKERS) });
  try {
    const [, url] = await proc.waitFor(/listening on (http:\/\/\S+)/, START_TIMEOUT_MS);
    const port = Number(new URL(url!).port);
    const measured = await measureLoad({ port, connections: CONNECTIONS, seconds: SECONDS, churn: false, pidFrom: 'body' });
    const exit = await proc.stop('SIGTERM', STOP_TIMEOUT_MS);
    const perWorker = Object.values(measured.perWorker).sort((a, b) => b - a);
    rows.push([
      framework, String(WORKERS), Math.round(measured.requestsPerSecond).toLocaleString('en-US'), measured.p99.toFixed(1),
      String(measured.errors), perWorker.map((n) => n.toLocaleString('en-US')).join(' / '),
      exit.timedOut ? 'killed' : String(exit.code ?? exit.signal),
    ]);
    if (exit.timedOut || exit.code !== 0) failures.push(`${framework}: did not exit 0 after SIGTERM`);
    if (measured.errors > 0) failures.push(`${framework}: ${measured.errors} failed requests`);
    if (perWorker.length !== WORKERS) failures.push(`${framework}: served by ${perWorker.length} processes, expected ${WORKERS}`);
  } catch (error) {
    await proc.stop('SIGKILL', STOP_TIMEOUT_MS);
    failures.push(`${framework}: ${(error as Error).message}`);
  }
}

console.log(`\n${table(['framework', 'workers', 'requests/s', 'p99 ms', 'errors', 'requests per worker', 'exit code after SIGTERM'], rows)}\n`);
for (const failure of failures) console.error(`demo: FAILED ${failure}`);
process.exit(failures.length === 0 ? 0 : 1);
