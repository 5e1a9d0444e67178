// What a lead() job recorded (test/fixtures/together/app.mjs with LEAD_LOG), term by term,
// and whether two terms ever ran at once. Used by test/working-together.test.ts and
// bench/lead-faults.ts.
import { readFileSync } from 'node:fs';

type Entry = { pid: number; term: number } & ({ start: number; end: number } | { event: 'start' | 'end'; at: number });

/** One leader's time: from its job's start to its settling, or to its last tick when its process was killed. */
export interface Term {
  term: number;
  pids: number[];
  start: number;
  end: number;
  ticks: number;
  /** The job settled (it stopped leading); false: its process was killed first. */
  settled: boolean;
}

export function readLeadLog(file: string): Term[] {
  const terms = new Map<number, Term>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    const entry = JSON.parse(line) as Entry;
    let term = terms.get(entry.term);
    if (term === undefined) terms.set(entry.term, term = { term: entry.term, pids: [], start: Infinity, end: -Infinity, ticks: 0, settled: false });
    if (!term.pids.includes(entry.pid)) term.pids.push(entry.pid);
    const from = 'at' in entry ? entry.at : entry.start;
    const to = 'at' in entry ? entry.at : entry.end;
    term.start = Math.min(term.start, from);
    term.end = Math.max(term.end, to);
    if ('event' in entry && entry.event === 'end') term.settled = true;
    if (!('event' in entry)) term.ticks++;
  }
  return [...terms.values()].sort((a, b) => a.term - b.term);
}

/** Every way the terms break "one leader at a time": empty when none does. */
export function overlaps(terms: readonly Term[]): string[] {
  const problems: string[] = [];
  for (const term of terms) if (term.pids.length > 1) problems.push(`term ${term.term} ran in ${term.pids.length} processes: ${term.pids.join(', ')}`);
  for (let i = 1; i < terms.length; i++) {
    const before = terms[i - 1]!;
    const after = terms[i]!;
    if (after.start < before.end) {
      problems.push(`term ${after.term} (pid ${after.pids.join(',')}) started at ${after.start}, ${before.end - after.start} ms before term ${before.term} (pid ${before.pids.join(',')}) ended at ${before.end}`);
    }
  }
  return problems;
}
