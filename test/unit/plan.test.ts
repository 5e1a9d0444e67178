// The supervisor's decisions, situation by situation: each row gives what the cluster
// should be and what it is, and the exact actions the plan takes (and when it looks again).
import { describe, expect, it } from 'vitest';
import { KILL_GRACE_MS, PAUSE_CONFIRM_MS, plan, START_ATTEMPTS, startFails, type Action, type Desired, type ObservedWorker, type Route } from '../../packages/core/src/supervision/plan.ts';

const NOW = 100_000;
const READY_TIMEOUT = 30_000;
const SHUTDOWN_TIMEOUT = 10_000;

const desired = (overrides: Partial<Desired> = {}): Desired => ({
  running: true, target: 2, generation: 0, maxSurge: 1, supersededBySlot: false,
  readyTimeout: READY_TIMEOUT, shutdownTimeout: SHUTDOWN_TIMEOUT, forkAfter: 0, forks: true, ...overrides,
});

const routed: Route = { kind: 'routed' };
const heldBack = (pausedAt: number | null = null): Route => ({ kind: 'heldBack', pausedAt });

/** A worker serving on listener '1' (routed), ready for a while; override what the row is about. */
function worker(id: number, overrides: Partial<ObservedWorker> & { route?: Route | 'none' } = {}): ObservedWorker {
  const { route = routed, ...rest } = overrides;
  return {
    id, slot: id - 1, generation: 0, phase: 'serving', startedAt: NOW - 60_000, readyAt: NOW - 59_000,
    listeners: new Map([['1', route === 'none' ? undefined : route]]), leaving: undefined, hung: undefined, drainsOnItsOwn: false,
    recycle: undefined, killed: false, ...rest,
  };
}

/** Forked, not yet listening. */
const starting = (id: number, overrides: Partial<ObservedWorker> = {}) =>
  worker(id, { phase: 'starting', readyAt: undefined, startedAt: NOW - 100, listeners: new Map(), ...overrides });
/** Ready, not yet routed (the plan routes it). */
const justReady = (id: number, overrides: Partial<ObservedWorker> = {}) => worker(id, { route: 'none', startedAt: NOW - 500, readyAt: NOW - 10, ...overrides });
const leaving = (kind: 'stop' | 'replaced' | 'self', since: number) => ({ reason: { kind }, since });

interface Row {
  situation: string;
  desired?: Partial<Desired>;
  workers: ObservedWorker[];
  /** Listeners whose held-back workers confirm their pause (shared sockets); default none. */
  confirming?: string[];
  actions: Action[];
  wakeAt?: number;
}

const fork = (slot: number, generation = 0): Action => ({ do: 'fork', slot, generation });
const retire = (id: number, kind: 'stop' | 'replaced' | 'self', superseded = false): Action => ({ do: 'retire', worker: id, reason: { kind }, superseded });

const rows: Row[] = [
  {
    situation: 'start-up: forks the target, slots 0 and 1',
    workers: [],
    actions: [fork(0), fork(1)],
  },
  {
    situation: 'start-up under the crash backoff: forks nothing, looks again when it ends',
    desired: { forkAfter: NOW + 400 },
    workers: [worker(1)],
    actions: [],
    wakeAt: NOW + 400,
  },
  {
    situation: 'steady: nothing to do, nothing to wait for',
    workers: [worker(1), worker(2)],
    actions: [],
  },
  {
    situation: 'new workers starting: waits for their ready deadline',
    workers: [starting(1), starting(2, { startedAt: NOW - 50 })],
    actions: [],
    wakeAt: NOW - 100 + READY_TIMEOUT,
  },
  {
    situation: 'a worker just ready is routed',
    workers: [worker(1), justReady(2)],
    actions: [{ do: 'route', worker: 2, key: '1' }],
  },
  {
    situation: 'a worker that said ready on a shared socket is routed there, and waits for its ready deadline until it confirms it accepts',
    workers: [worker(1), worker(2, { phase: 'ready', route: 'none', readyAt: undefined, startedAt: NOW - 500 })],
    actions: [{ do: 'route', worker: 2, key: '1' }],
    wakeAt: NOW - 500 + READY_TIMEOUT,
  },
  {
    situation: 'a worker not ready within readyTimeout is killed (its exit is a failed start)',
    workers: [worker(1), starting(2, { startedAt: NOW - READY_TIMEOUT })],
    actions: [{ do: 'kill', worker: 2, why: 'not ready' }],
  },
  {
    situation: 'a crash: the replacement takes the lowest free slot, which was the crashed worker\'s',
    workers: [worker(2)],
    actions: [fork(0)],
  },
  {
    situation: 'a crash during the backoff: the replacement waits for it',
    desired: { forkAfter: NOW + 200 },
    workers: [worker(2)],
    actions: [],
    wakeAt: NOW + 200,
  },
  {
    situation: 'a reload with maxSurge 1: one new worker at a time, in the first slot',
    desired: { generation: 1 },
    workers: [worker(1), worker(2)],
    actions: [fork(0, 1)],
  },
  {
    situation: 'a reload with maxSurge 2: two new workers at once',
    desired: { generation: 1, maxSurge: 2 },
    workers: [worker(1), worker(2)],
    actions: [fork(0, 1), fork(1, 1)],
  },
  {
    situation: 'a reload, the first new worker ready: it is routed, both old ones are held back, the old one of its slot drains',
    desired: { generation: 1 },
    workers: [worker(1), worker(2), justReady(3, { slot: 0, generation: 1 })],
    actions: [
      { do: 'holdBack', worker: 1, key: '1' },
      { do: 'holdBack', worker: 2, key: '1' },
      { do: 'route', worker: 3, key: '1' },
      retire(1, 'replaced', true),
      fork(1, 1),
    ],
  },
  {
    situation: 'a reload under sticky: only the old worker of the new one\'s slot is held back',
    desired: { generation: 1, supersededBySlot: true },
    workers: [worker(1), worker(2), justReady(3, { slot: 0, generation: 1 })],
    actions: [
      { do: 'holdBack', worker: 1, key: '1' },
      { do: 'route', worker: 3, key: '1' },
      retire(1, 'replaced', true),
      fork(1, 1),
    ],
  },
  {
    situation: 'a reload on a shared socket: the next old worker waits until the held-back one confirms its pause',
    desired: { generation: 1 },
    confirming: ['1'],
    workers: [
      worker(1, { route: heldBack(null) }), worker(2, { route: heldBack(NOW - 300) }),
      worker(3, { slot: 0, generation: 1 }),
    ],
    actions: [],
    wakeAt: NOW - 300 + PAUSE_CONFIRM_MS,
  },
  {
    situation: 'a pause never confirmed: after PAUSE_CONFIRM_MS the plan stops waiting and drains the next old worker',
    desired: { generation: 1 },
    confirming: ['1'],
    workers: [
      worker(1, { route: heldBack(null) }), worker(2, { route: heldBack(NOW - PAUSE_CONFIRM_MS) }),
      worker(3, { slot: 0, generation: 1 }),
    ],
    actions: [{ do: 'stopWaiting', worker: 2, key: '1' }, retire(1, 'replaced', true), fork(1, 1)],
  },
  {
    situation: 'a reload whose new worker is not ready yet: the old ones keep serving, unheld',
    desired: { generation: 1 },
    workers: [worker(1), worker(2), starting(3, { slot: 0, generation: 1 })],
    actions: [],
    wakeAt: NOW - 100 + READY_TIMEOUT,
  },
  {
    situation: 'an old worker not serving yet when a reload comes is retired at once; maxSurge counts the live ones',
    desired: { generation: 1 },
    workers: [worker(1), starting(2)],
    actions: [retire(2, 'replaced'), fork(0, 1), fork(1, 1)],
    wakeAt: NOW - 100 + READY_TIMEOUT,
  },
  {
    situation: 'a scale-up forks into the next slot',
    desired: { target: 3 },
    workers: [worker(1), worker(2)],
    actions: [fork(2)],
  },
  {
    situation: 'a scale-down retires the highest slot',
    desired: { target: 1 },
    workers: [worker(1), worker(2)],
    actions: [retire(2, 'stop')],
  },
  {
    situation: 'a scale-down retires a worker that does not serve yet before one that does',
    desired: { target: 1 },
    workers: [starting(1, { slot: 0 }), worker(2)],
    actions: [retire(1, 'stop')],
    // Deadlines are read from the workers as observed; the supervisor plans again after acting.
    wakeAt: NOW - 100 + READY_TIMEOUT,
  },
  {
    situation: 'a scale during a reload: the target counts current workers; old ones drain as new ones serve',
    desired: { generation: 1, target: 3 },
    workers: [worker(1, { route: heldBack() }), worker(2, { route: heldBack() }), worker(3, { slot: 0, generation: 1 })],
    actions: [fork(1, 1)],
  },
  {
    situation: 'a hung worker is retired and replaced in its slot; not killed while fewer than the target serve',
    workers: [worker(1, { hung: 'has not answered a heartbeat for 30000 ms' }), worker(2)],
    actions: [{ do: 'retire', worker: 1, reason: { kind: 'hung', detail: 'has not answered a heartbeat for 30000 ms' }, superseded: false }, fork(0)],
  },
  {
    situation: 'a hung worker is killed once the target serves without it',
    workers: [
      worker(1, { hung: 'hung', leaving: { reason: { kind: 'hung', detail: 'hung' }, since: NOW - 1_000 }, phase: 'draining' }),
      worker(2), worker(3, { slot: 0 }),
    ],
    actions: [{ do: 'kill', worker: 1, why: 'hung' }],
    wakeAt: NOW - 1_000 + SHUTDOWN_TIMEOUT + KILL_GRACE_MS,
  },
  {
    situation: 'a hang during a reload: the hung old worker is retired, the reload goes on',
    desired: { generation: 1 },
    workers: [worker(1, { hung: 'hung' }), worker(2)],
    actions: [{ do: 'retire', worker: 1, reason: { kind: 'hung', detail: 'hung' }, superseded: false }, fork(0, 1), fork(1, 1)],
  },
  {
    situation: 'a worker draining on its own is retired without a drain message; its replacement waits for the backoff',
    desired: { forkAfter: NOW + 100 },
    workers: [worker(1, { drainsOnItsOwn: true }), worker(2)],
    actions: [retire(1, 'self')],
    wakeAt: NOW + 100,
  },
  {
    situation: 'a shutdown delay: a worker draining on its own (the process group got SIGTERM) is retired and not replaced',
    desired: { forks: false },
    workers: [worker(1, { drainsOnItsOwn: true }), worker(2)],
    actions: [retire(1, 'self')],
  },
  {
    situation: 'a leaving worker still there at shutdownTimeout + grace is killed',
    workers: [worker(1, { phase: 'draining', leaving: leaving('replaced', NOW - SHUTDOWN_TIMEOUT - KILL_GRACE_MS) }), worker(2), worker(3, { slot: 0 })],
    actions: [{ do: 'kill', worker: 1, why: 'deadline' }],
  },
  {
    situation: 'a worker already sent SIGKILL is not sent another',
    workers: [worker(1, { phase: 'draining', killed: true, leaving: leaving('replaced', NOW - 60_000) }), worker(2), worker(3, { slot: 0 })],
    actions: [],
  },
  {
    situation: 'a shutdown retires every worker, forks nothing and routes nothing',
    desired: { running: false },
    workers: [worker(1), justReady(2), starting(3, { slot: 2 })],
    actions: [retire(1, 'stop'), retire(2, 'stop'), retire(3, 'stop')],
    wakeAt: NOW - 100 + READY_TIMEOUT,
  },
  {
    situation: 'a shutdown during a reload retires old and new workers alike; those leaving already keep their deadline',
    desired: { running: false, generation: 1 },
    workers: [worker(1, { phase: 'draining', leaving: leaving('replaced', NOW - 2_000) }), worker(2, { route: heldBack() }), worker(3, { slot: 0, generation: 1 })],
    actions: [retire(2, 'stop'), retire(3, 'stop')],
    wakeAt: NOW - 2_000 + SHUTDOWN_TIMEOUT + KILL_GRACE_MS,
  },
  {
    situation: 'a memory recycle: one starts, and its replacement takes its slot',
    workers: [worker(1, { recycle: { active: false } }), worker(2, { recycle: { active: false } })],
    actions: [{ do: 'startRecycle', worker: 1 }, fork(0)],
  },
  {
    situation: 'a recycle under way: the next waits, and the recycled worker drains once its replacement serves',
    workers: [worker(1, { recycle: { active: true } }), worker(2, { recycle: { active: false } }), worker(3, { slot: 0 })],
    actions: [retire(1, 'replaced')],
  },
  {
    situation: 'sticky slots: the old worker of a slot whose new worker serves drains first',
    desired: { generation: 1, supersededBySlot: true },
    workers: [worker(1), worker(2, { route: heldBack() }), worker(3, { slot: 1, generation: 1 })],
    actions: [retire(2, 'replaced', true), fork(0, 1)],
  },
];

describe('plan', () => {
  for (const row of rows) {
    it(row.situation, () => {
      const confirming = new Set(row.confirming ?? []);
      const result = plan(desired(row.desired), { workers: row.workers, confirmsPause: (key) => confirming.has(key) }, NOW);
      expect(result.actions).toEqual(row.actions);
      expect(result.wakeAt).toBe(row.wakeAt);
    });
  }

  it('is pure: the same input gives the same plan, and the input is not changed', () => {
    const workers = [worker(1), worker(2), justReady(3, { slot: 0, generation: 1 })];
    const before = JSON.stringify(workers, (_, value: unknown) => (value instanceof Map ? [...value] : value));
    const first = plan(desired({ generation: 1 }), { workers, confirmsPause: () => false }, NOW);
    const second = plan(desired({ generation: 1 }), { workers, confirmsPause: () => false }, NOW);
    expect(second).toEqual(first);
    expect(JSON.stringify(workers, (_, value: unknown) => (value instanceof Map ? [...value] : value))).toBe(before);
  });
});

describe('startFails: a worker failed its start before the cluster was ever ready', () => {
  it('still alive but not ready within readyTimeout: the start fails at once (the others run the same code)', () => {
    expect(startFails('not ready', 1)).toBe(true);
  });

  it(`exited: the start fails once ${START_ATTEMPTS} have in a row, and the ones before are retried`, () => {
    expect(START_ATTEMPTS).toBe(5);
    for (let inARow = 1; inARow < START_ATTEMPTS; inARow++) expect(startFails('exited', inARow), `${inARow} in a row`).toBe(false);
    expect(startFails('exited', START_ATTEMPTS)).toBe(true);
  });
});
