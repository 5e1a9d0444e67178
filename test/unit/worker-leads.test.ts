// A worker's side of lead(), against a fake primary: what it tells the primary, when its job
// runs, and when the job's signal aborts.
import { describe, expect, it } from 'vitest';
import type { WorkerMessage } from '../../packages/core/src/protocol.ts';
import { WorkerLeads } from '../../packages/core/src/worker/leads.ts';

function leads() {
  const sent: WorkerMessage[] = [];
  const lines: string[] = [];
  const events: [number, string][] = [];
  const subject = new WorkerLeads({ send: (message) => sent.push(message) > 0, announce: (term, name) => events.push([term, name]), log: (line) => lines.push(line), who: 'worker 1 (pid 2)' });
  return { subject, sent, lines, events };
}

/** A job that runs until its signal aborts, then settles when `finish()` is called. */
function job() {
  const runs: { signal: AbortSignal; term: number }[] = [];
  let finish: () => void = () => {};
  const fn = (signal: AbortSignal, term: number) => {
    runs.push({ signal, term });
    return new Promise<void>((resolve) => { finish = resolve; });
  };
  return { fn, runs, finish: () => finish() };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("a worker's lead()", () => {
  it('runs for leader; elected, runs the job with its term; a drain aborts it, and the primary hears once the job has settled', async () => {
    const { subject, sent, events } = leads();
    const { fn, runs, finish } = job();
    subject.lead(fn, { name: 'cron' });
    expect(sent).toEqual([{ act: 'leadWanted', name: 'cron' }]);
    expect(subject.isLeader).toBe(false);

    subject.granted('cron', 4);
    expect(runs).toMatchObject([{ term: 4 }]);
    expect(events).toEqual([[4, 'cron']]);
    expect(subject.isLeader).toBe(true);

    subject.stepDown('it drains');
    expect(runs[0]!.signal.aborted).toBe(true);
    expect(runs[0]!.signal.reason).toMatchObject({ name: 'AbortError', message: "this worker stops leading 'cron': it drains" });
    expect(subject.isLeader).toBe(false);
    await tick();
    // Not before the job has settled: the next leader must not start beside it.
    expect(sent).toHaveLength(1);
    const settled = subject.settled(Date.now() + 5_000);
    finish();
    await settled;
    expect(sent).toEqual([{ act: 'leadWanted', name: 'cron' }, { act: 'leadEnded', name: 'cron', term: 4 }]);
  });

  it('a job that settles while it leads keeps the lead; a drain then ends it at once', async () => {
    const { subject, sent } = leads();
    subject.lead(() => {});
    subject.granted('default', 1);
    await tick();
    expect(subject.isLeader).toBe(true);
    expect(sent).toHaveLength(1);
    subject.stepDown('it drains');
    expect(sent.at(-1)).toEqual({ act: 'leadEnded', name: 'default', term: 1 });
  });

  it('a job that throws is logged, and the worker still leads', async () => {
    const { subject, lines } = leads();
    subject.lead(() => { throw new Error('no database'); });
    subject.granted('default', 2);
    await tick();
    expect(lines).toEqual([expect.stringMatching(/^clusterize: worker 1 \(pid 2\): the lead job 'default' \(term 2\) failed; this worker still leads: Error: no database/)]);
    expect(subject.isLeader).toBe(true);
  });

  it('resigning withdraws, aborts the job, and ends its term once it settled; lead() may run again then', async () => {
    const { subject, sent } = leads();
    const { fn, runs, finish } = job();
    const resign = subject.lead(fn);
    subject.granted('default', 3);
    resign();
    expect(runs[0]!.signal.aborted).toBe(true);
    finish();
    await tick();
    expect(sent).toEqual([
      { act: 'leadWanted', name: 'default' }, { act: 'leadWithdrawn', name: 'default' }, { act: 'leadEnded', name: 'default', term: 3 },
    ]);
    expect(() => subject.lead(fn)).not.toThrow();
  });

  it('declines a term it no longer runs for, or while it drains; refuses a second lead() of one name', () => {
    const { subject, sent } = leads();
    subject.granted('other', 5);
    expect(sent).toEqual([{ act: 'leadEnded', name: 'other', term: 5 }]);
    subject.lead(() => {});
    expect(() => subject.lead(() => {})).toThrow(expect.objectContaining({ code: 'ERR_CLUSTERIZE_INVALID_ARGUMENT', name: 'TypeError' }));
    subject.stepDown('it drains');
    subject.granted('default', 6);
    expect(sent.at(-1)).toEqual({ act: 'leadEnded', name: 'default', term: 6 });
    // A draining worker runs for nothing any more.
    const before = sent.length;
    subject.lead(() => {}, { name: 'late' });
    expect(sent).toHaveLength(before);
  });
});
