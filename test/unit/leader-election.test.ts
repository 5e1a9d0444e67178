// Who leads a lead name next, situation by situation: each row gives the lease, the workers
// and the one the primary elects (or nobody).
import { describe, expect, it } from 'vitest';
import { electLeader, type Lease, type Voter } from '../../packages/core/src/supervision/leader-election.ts';

/** A worker of release 0 that serves, in slot id - 1; override what the row is about. */
const voter = (id: number, overrides: Partial<Voter> = {}): Voter => ({ id, slot: id - 1, generation: 0, serving: true, leaving: false, ...overrides });
const lease = (candidates: number[], holder?: number): Lease => ({ holder, candidates: new Set(candidates) });

interface Row {
  situation: string;
  lease: Lease;
  voters: Voter[];
  generation?: number;
  elected: number | undefined;
}

const rows: Row[] = [
  { situation: 'nobody runs: nobody is elected', lease: lease([]), voters: [voter(1), voter(2)], elected: undefined },
  { situation: 'two candidates: the lowest slot', lease: lease([1, 2]), voters: [voter(2), voter(1)], elected: 1 },
  { situation: 'only workers that run are elected', lease: lease([2]), voters: [voter(1), voter(2)], elected: 2 },
  { situation: 'a leader holds the lease: nobody else, however suited', lease: lease([1, 2], 2), voters: [voter(1), voter(2)], elected: undefined },
  {
    situation: 'the leader drains (a reload, a scale-down, a recycle, a shutdown): nobody until its job has ended',
    lease: lease([1, 2], 1), voters: [voter(1, { serving: false, leaving: true }), voter(2)], elected: undefined,
  },
  {
    situation: 'the leader is hung (SIGSTOP): nobody until it is gone',
    lease: lease([1, 2], 1), voters: [voter(1, { leaving: true }), voter(2)], elected: undefined,
  },
  { situation: "the leader's job ended (or its process is gone): the other candidate", lease: lease([2]), voters: [voter(2)], elected: 2 },
  { situation: 'a candidate not yet serving waits until it is ready', lease: lease([1]), voters: [voter(1, { serving: false })], elected: undefined },
  { situation: 'a candidate on its way out is not elected to step down again', lease: lease([1, 2]), voters: [voter(1, { leaving: true }), voter(2)], elected: 2 },
  {
    situation: 'during a reload: a worker of the new release before an old one in a lower slot',
    lease: lease([1, 2, 3]), generation: 1, voters: [voter(1), voter(2), voter(3, { slot: 1, generation: 1 })], elected: 3,
  },
  {
    situation: 'during a reload, no new worker serves yet: an old one leads meanwhile',
    lease: lease([1, 2, 3]), generation: 1, voters: [voter(1), voter(2), voter(3, { slot: 0, generation: 1, serving: false })], elected: 1,
  },
  {
    situation: 'a failed reload kept the old workers as current (a newer generation than theirs is no more wanted)',
    lease: lease([1, 2]), generation: 1, voters: [voter(1, { generation: 1 }), voter(2, { generation: 1 })], elected: 1,
  },
  {
    situation: 'two workers in one slot (a reload): the older one',
    lease: lease([4, 3]), voters: [voter(4, { slot: 0 }), voter(3, { slot: 0 })], elected: 3,
  },
  { situation: 'a candidate that is no worker any more (exited) is never elected', lease: lease([7]), voters: [voter(1)], elected: undefined },
];

describe('electing a leader', () => {
  it.each(rows)('$situation', ({ lease, voters, generation = 0, elected }) => {
    expect(electLeader(lease, voters, generation)).toBe(elected);
  });
});
