// `npm run demo`: each example clustered with 2 workers, loaded by autocannon for a few
// seconds, then stopped with SIGTERM; prints one table and fails unless every example
// served from both workers without an error and exited 0. Each runs with its admin
// server on a free port: the demo prints where, and checks /workers and /metrics.
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
const admins: string[] = [];

for (const framework of frameworks) {
  const script = fileURLToPath(new URL(`./${framework}.ts`, import.meta.url));
  process.stderr.write(`demo: ${framework} with ${WORKERS} workers, ${SECONDS} s of load...\n`);
  const proc = start(process.execPath, [script], { PORT: '0', WORKERS: String(WORKERS), ADMIN_PORT: '0' });
  try {
    const [, url] = await proc.waitFor(/listening on (http:\/\/\S+)/, START_TIMEOUT_MS);
    const [, adminUrl] = await proc.waitFor(/admin server on (http:\/\/\S+)/, START_TIMEOUT_MS);
    admins.push(`${framework}: ${adminUrl}/metrics  /livez  /readyz  /workers`);
    const port = Number(new URL(url!).port);
    const measured = await measureLoad({ port, connections: CONNECTIONS, seconds: SECONDS, churn: false, pidFrom: 'body' });
    // What a scraper sees after the load: the cluster's own metrics and every worker's.
    const workersTable = await (await fetch(`${adminUrl}/workers`)).json() as unknown[];
    const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
    if (workersTable.length !== WORKERS) failures.push(`${framework}: /workers listed ${workersTable.length} workers`);
    if (!/^clusterize_workers\{state="ready"\} 2$/m.test(metrics)) failures.push(`${framework}: /metrics did not count ${WORKERS} ready workers`);
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

console.log(`\nAdmin endpoints (each cluster's primary, while it ran):\n${admins.map((line) => `  ${line}`).join('\n')}`);
console.log(`\n${table(['framework', 'workers', 'requests/s', 'p99 ms', 'errors', 'requests per worker', 'exit code after SIGTERM'], rows)}\n`);
for (const failure of failures) console.error(`demo: FAILED ${failure}`);
process.exit(failures.length === 0 ? 0 : 1);
