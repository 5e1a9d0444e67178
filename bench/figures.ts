// The figures of a run that BENCHMARKS.md's notes discuss (ranges across the tables), made
// from the same results as the tables. The notes, written by hand, quote none of the run's
// figures but point here, so that a new run cannot leave them saying other numbers.
import { BASELINE } from './contenders/index.ts';
import type { BenchResults } from './report.ts';
import type { Row, ScenarioResult } from './summary.ts';

const SINGLE = 'single';
/** Contenders whose workers accept themselves, balanced by the kernel. */
const KERNEL_BALANCED = ['node-cluster-none', 'node-reuseport', 'clusterize-shared', 'clusterize-reuseport'];
/** clusterize's policies where the primary accepts and hands each connection over. */
const FORWARDING = ['clusterize-round-robin', 'clusterize-least-connections'];
/** The scenarios with a new connection per request, and how the figures name them. */
const CHURN: Record<string, string> = { churn: 'plain http', express: 'Express', fastify: 'Fastify' };

export const FIGURES_HEADING = '## Figures of this run';

/** A number as the tables print it, and the unit after it. */
interface Format {
  (n: number): string;
  unit: string;
}
const format = (print: (n: number) => string, unit = ''): Format => Object.assign(print, { unit });
const times = format((n) => n.toFixed(2), 'x');
const ratio = format((n) => n.toFixed(2));
const int = format((n) => Math.round(n).toLocaleString('en-US'));
const percent = format((n) => String(Math.round(n * 100)), '%');

/** `a-b` of the finite values as the tables print them (one value when they print alike); undefined when there is none. */
function range(values: readonly (number | null)[], as: Format): string | undefined {
  const finite = values.filter((n): n is number => n !== null && Number.isFinite(n));
  if (finite.length === 0) return undefined;
  const [low, high] = [as(Math.min(...finite)), as(Math.max(...finite))];
  return `${low === high ? low : `${low}-${high}`}${as.unit}`;
}

function rows(scenario: ScenarioResult | undefined, ids: readonly string[]): Row[] {
  return scenario?.rows.filter((row) => ids.includes(row.contender)) ?? [];
}

/** The section BENCHMARKS.md shows between the tables and the notes. */
export function renderFigures(results: BenchResults): string {
  const scenario = (id: string) => results.scenarios.find((s) => s.id === id);
  const churn = Object.keys(CHURN).flatMap((id) => scenario(id) ?? []);
  const lines: (string | undefined)[] = [];

  const noise = range(results.scenarios.flatMap((s) => s.rows.map((row) => row.spread)), percent);
  if (noise !== undefined) lines.push(`- **Noise**: the ± column (half the range over the ${results.settings.rounds} rounds) is ${noise}.`);

  if (churn.length > 0) {
    const kernel = churn.flatMap((s) => rows(s, KERNEL_BALANCED));
    const each = churn.map((s) => `${CHURN[s.id]} ${range(rows(s, KERNEL_BALANCED).map((row) => row.vsBaseline.requestsPerSecond), times)}`);
    const forwarding = churn.flatMap((s) => rows(s, FORWARDING));
    lines.push(`- **A new connection per request** (${churn.map((s) => CHURN[s.id]).join(', ')}): kernel-balanced accept (node:cluster SCHED_NONE, `
      + `Node reusePort processes, clusterize shared and reuseport) serves ${range(kernel.map((row) => row.vsBaseline.requestsPerSecond), times)} `
      + `what node:cluster round-robin does (${each.join(', ')}); clusterize round-robin and least-connections `
      + `${range(forwarding.map((row) => row.vsBaseline.requestsPerSecond), times)}, with ${range(forwarding.map((row) => row.vsBaseline.cpuPer1000), times)} `
      + `its primary CPU per connection. Requests max/min: ${range(churn.flatMap((s) => s.rows.map((row) => row.balance)), ratio)} for every cluster.`);
    const single = churn.flatMap((s) => rows(s, [SINGLE]).map((row) => `${CHURN[s.id]} ${range([row.vsBaseline.requestsPerSecond], times)}`));
    if (single.length > 0) lines.push(`- **A single process**, a new connection per request: ${single.join(', ')} what node:cluster round-robin serves.`);
  }

  const keepAlive = range(scenario('keep-alive')?.rows.map((row) => row.requestsPerSecond) ?? [], int);
  if (keepAlive !== undefined) lines.push(`- **Keep-alive**: every contender serves ${keepAlive} req/s.`);

  const uneven = scenario('uneven');
  const alone = rows(uneven, [SINGLE])[0];
  const clusters = uneven?.rows.filter((row) => row.contender !== SINGLE) ?? [];
  if (alone !== undefined && clusters.length > 0) {
    lines.push(`- **Uneven work**: every 2-worker contender serves ${range(clusters.map((row) => row.requestsPerSecond / alone.requestsPerSecond), times)} `
      + `what the single process does; their p99 is ${range(clusters.filter((row) => row.contender !== BASELINE).map((row) => row.vsBaseline.p99), times)} node:cluster round-robin's.`);
  }

  if (results.reload.length > 0) {
    const byContender = Map.groupBy(results.reload, (r) => r.label);
    const each = [...byContender].map(([label, runs]) => `${label} ${runs.map((r) => `${range([r.errors], int)} under ${r.load.split(',')[0]}`).join(', ')}`);
    lines.push(`- **Reload under load**, failed requests in ${results.settings.reloads} rolling reloads: ${each.join('; ')}.`);
  }

  return `${FIGURES_HEADING}\n\nThe ranges the notes below discuss, generated from the tables above.\n\n${lines.filter(Boolean).join('\n')}\n`;
}
