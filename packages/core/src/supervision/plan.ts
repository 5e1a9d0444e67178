import type { LeaveReason, WorkerPhase } from './worker-process.js';

/** Workers in a row that exited before they were ready, before the cluster ever was, after which the start fails. */
export const START_ATTEMPTS = 5;

/** Grace after shutdownTimeout for a worker to act on its own deadline before SIGKILL. */
export const KILL_GRACE_MS = 1_000;
/** How long the next old worker's drain waits for held-back workers to confirm they stopped accepting. */
export const PAUSE_CONFIRM_MS = 1_000;

/** What the cluster should be: the operations (start, reload, scale, shutdown) set it. */
export interface Desired {
  /** False once a shutdown began: every worker drains and none is forked. */
  readonly running: boolean;
  /** Ready workers to serve with. */
  readonly target: number;
  /** The release every worker should run: one more per reload. */
  readonly generation: number;
  /** Workers above the target alive at once during a reload. */
  readonly maxSurge: number;
  /** The policy keeps a slot's clients together: an old worker is superseded only by a new one of its slot. */
  readonly supersededBySlot: boolean;
  readonly readyTimeout: number;
  readonly shutdownTimeout: number;
  /** No fork before this time: the crash backoff. */
  readonly forkAfter: number;
  /** False during a shutdown delay: the cluster serves with the workers it has, and none is forked. */
  readonly forks: boolean;
}

/** Where a worker stands on one listener. */
export type Route =
  /** It gets connections there. */
  | { readonly kind: 'routed' }
  /** Unrouted for a newer release; `pausedAt`: when it was told to close its copy of the socket, until it confirms (then null). */
  | { readonly kind: 'heldBack'; readonly pausedAt: number | null };

/** One worker process as the supervisor recorded it: facts only. */
export interface ObservedWorker {
  readonly id: number;
  readonly slot: number;
  readonly generation: number;
  readonly phase: Exclude<WorkerPhase, 'exited'>;
  readonly startedAt: number;
  /** When it was announced ready (phase serving); it is routable from then on. */
  readonly readyAt: number | undefined;
  /** The listeners its servers are registered on, and its route on each (none: not routed there). */
  readonly listeners: ReadonlyMap<string, Route | undefined>;
  /** Why and since when it is on its way out. */
  readonly leaving: { readonly reason: LeaveReason; readonly since: number } | undefined;
  /** It left a heartbeat unanswered too long (the detail says how long). */
  readonly hung: string | undefined;
  /** It began to drain by itself (a signal to it, its app). */
  readonly drainsOnItsOwn: boolean;
  /** A memory or age recycle was asked for; `active` once its replacement is under way. */
  readonly recycle: { readonly active: boolean } | undefined;
  /** A SIGKILL was sent: no need to send another. */
  readonly killed: boolean;
}

export interface Observed {
  readonly workers: readonly ObservedWorker[];
  /** Listeners whose workers accept on their own copy of the socket: a held-back worker there confirms its pause. */
  readonly confirmsPause: (key: string) => boolean;
}

export type Action =
  /** Fork a worker into `slot` running release `generation`. */
  | { readonly do: 'fork'; readonly slot: number; readonly generation: number }
  /** Stop routing to it everywhere and tell it to drain (unless it drains on its own). */
  | { readonly do: 'retire'; readonly worker: number; readonly reason: LeaveReason; readonly superseded: boolean }
  | { readonly do: 'kill'; readonly worker: number; readonly why: 'not ready' | 'deadline' | 'hung' }
  | { readonly do: 'route'; readonly worker: number; readonly key: string }
  /** Unroute it on `key`: a worker of the newer release serves there. */
  | { readonly do: 'holdBack'; readonly worker: number; readonly key: string }
  /** It did not confirm its pause on `key` within PAUSE_CONFIRM_MS: drain the next one anyway. */
  | { readonly do: 'stopWaiting'; readonly worker: number; readonly key: string }
  /** Start replacing it (memory or age): one such replacement at a time. */
  | { readonly do: 'startRecycle'; readonly worker: number };

interface Plan {
  readonly actions: readonly Action[];
  /** When to plan again although no fact changed (a backoff, a deadline); undefined: not before the next fact. */
  readonly wakeAt: number | undefined;
}

/** A worker as the plan sees it while it plans: what earlier steps of this plan decided counts. */
interface Planned {
  readonly seen: ObservedWorker;
  leaving: boolean;
  /** Why it leaves, where this plan or an earlier one retired it. */
  reason: LeaveReason | undefined;
  killed: boolean;
  recycleActive: boolean;
  readonly routes: Map<string, Route | undefined>;
}

/**
 * The supervisor's one decision: from what the cluster should be and what it is, the
 * actions that move it there, and when to look again. Pure: the same input gives the same
 * plan, so every situation is a table row in its unit tests; running the plan's actions
 * and planning again is always safe.
 *
 * - Start-up and crashes: fork until `target` current workers hold slots 0..target-1, at
 *   most `maxSurge` above the target alive, never before `forkAfter` (the crash backoff).
 *   A new worker takes the lowest free slot, so a replacement takes over its predecessor's.
 * - A reload (a newer generation): older workers are stale. One that does not serve yet is
 *   retired at once; a serving one is held back on each listener where a ready current
 *   worker serves (under `supersededBySlot`, only one of its own slot), so its clients
 *   reconnect to new workers, never to another old one; once more serve than the target,
 *   the stale ones drain, those whose slot is served first, then the oldest. Where workers
 *   accept on their own socket, no old worker drains while another held back on the same
 *   listener has not confirmed that it stopped accepting (for at most PAUSE_CONFIRM_MS).
 * - A scale-down retires the current workers above the target: those not serving first,
 *   then the highest slots.
 * - Memory and age recycles go one at a time: the worker becomes stale, as in a reload.
 * - A hung worker is retired at once (routed around) and killed once `target` others serve.
 * - A worker that drains on its own is retired (no drain message: it drains already).
 * - Deadlines: a worker not ready within readyTimeout is killed, as is one still alive
 *   shutdownTimeout + KILL_GRACE_MS after it began to leave.
 * - A shutdown retires every worker and forks nothing.
 */
export function plan(desired: Desired, observed: Observed, now: number): Plan {
  const actions: Action[] = [];
  const wake = new Wake();
  const workers: Planned[] = observed.workers.map((seen) => ({
    seen, leaving: seen.leaving !== undefined, reason: seen.leaving?.reason, killed: seen.killed, recycleActive: seen.recycle?.active === true, routes: new Map(seen.listeners),
  }));
  const retire = (worker: Planned, reason: LeaveReason, superseded = false) => {
    worker.leaving = true;
    worker.reason = reason;
    actions.push({ do: 'retire', worker: worker.seen.id, reason, superseded });
  };

  const kill = (worker: Planned, why: 'not ready' | 'deadline' | 'hung') => {
    if (worker.killed) return;
    worker.killed = true;
    actions.push({ do: 'kill', worker: worker.seen.id, why });
  };
  killAtDeadlines(desired, workers, now, kill, wake);
  if (!desired.running) {
    for (const worker of workers) if (!worker.leaving) retire(worker, { kind: 'stop' });
    return { actions, wakeAt: wake.at };
  }
  for (const worker of workers) {
    if (worker.leaving) continue;
    if (worker.seen.drainsOnItsOwn) retire(worker, { kind: 'self' });
    else if (worker.seen.hung !== undefined) retire(worker, { kind: 'hung', detail: worker.seen.hung });
  }
  startNextRecycle(desired, workers, actions);

  const live = () => workers.filter((worker) => !worker.leaving);
  const routable = (worker: Planned) => worker.seen.phase === 'serving';
  const stale = (worker: Planned) => worker.seen.generation < desired.generation || worker.recycleActive;
  // Superseded before they served: no reason to wait for them.
  for (const worker of live()) if (stale(worker) && !routable(worker)) retire(worker, { kind: 'replaced' });
  // More current workers than the target (a scale-down): those not serving go first, then the highest slots.
  const current = live().filter((worker) => !stale(worker));
  const extra = current.length - desired.target;
  if (extra > 0) {
    const byUse = current.sort((a, b) => Number(routable(a)) - Number(routable(b)) || b.seen.slot - a.seen.slot || b.seen.id - a.seen.id);
    for (const worker of byUse.slice(0, extra)) retire(worker, { kind: 'stop' });
  }
  route(desired, live(), routable, now, actions);
  // More serving than needed: a newer worker took over, so stale ones drain, first those
  // whose slot a current worker serves, then the oldest.
  const serving = live().filter(routable);
  const excess = serving.length - desired.target;
  if (excess > 0) {
    const served = new Set(serving.filter((worker) => !stale(worker)).map((worker) => worker.seen.slot));
    const oldest = serving.filter(stale).sort((a, b) =>
      Number(served.has(b.seen.slot)) - Number(served.has(a.seen.slot)) || a.seen.generation - b.seen.generation || a.seen.id - b.seen.id);
    for (const worker of oldest.slice(0, excess)) {
      if (heldBackStillAccepting(worker, workers, observed, now, actions, wake)) continue;
      retire(worker, { kind: 'replaced' }, worker.seen.generation < desired.generation);
    }
  }
  forkWhatIsMissing(desired, live(), stale, now, actions, wake);
  // A hung worker cannot drain; once `target` others serve, it is killed.
  if (live().filter(routable).length >= desired.target) {
    for (const worker of workers) {
      if (worker.reason?.kind === 'hung') kill(worker, 'hung');
    }
  }
  return { actions, wakeAt: wake.at };
}

/** The earliest time the plan wants to be asked again. */
class Wake {
  at: number | undefined;

  when(time: number): void {
    if (this.at === undefined || time < this.at) this.at = time;
  }
}

/** A worker not ready within readyTimeout, or still there shutdownTimeout + grace after it began to leave, is killed. */
function killAtDeadlines(desired: Desired, workers: readonly Planned[], now: number, kill: (worker: Planned, why: 'not ready' | 'deadline') => void, wake: Wake): void {
  for (const worker of workers) {
    const { seen } = worker;
    if (seen.killed) continue;
    const deadline = seen.leaving !== undefined
      ? seen.leaving.since + desired.shutdownTimeout + KILL_GRACE_MS
      : seen.readyAt === undefined ? seen.startedAt + desired.readyTimeout : undefined;
    if (deadline === undefined) continue;
    if (now < deadline) wake.when(deadline);
    else kill(worker, seen.leaving !== undefined ? 'deadline' : 'not ready');
  }
}

/** Memory and age recycles go one at a time, so the cluster never loses more than one worker's capacity to them. */
function startNextRecycle(desired: Desired, workers: readonly Planned[], actions: Action[]): void {
  // The one under way is done when its worker has exited, drain included.
  if (workers.some((worker) => worker.recycleActive)) return;
  const next = workers.find(({ seen, leaving }) => !leaving && seen.recycle !== undefined
    && seen.phase === 'serving' && seen.generation === desired.generation);
  if (next === undefined) return;
  next.recycleActive = true;
  actions.push({ do: 'startRecycle', worker: next.seen.id });
}

/**
 * Routes each ready worker on each of its listeners, except that one of an older release is
 * held back where a routable current worker serves (of its own slot, under supersededBySlot).
 * A listener's last routed worker is never held back: a new one must be ready there first.
 */
function route(desired: Desired, live: readonly Planned[], routable: (worker: Planned) => boolean, now: number, actions: Action[]): void {
  const current = live.filter((worker) => routable(worker) && worker.seen.generation === desired.generation);
  for (const worker of live) {
    if (worker.seen.phase !== 'ready' && worker.seen.phase !== 'serving') continue;
    for (const [key, route] of worker.routes) {
      const superseded = worker.seen.generation < desired.generation && routable(worker)
        && current.some((newer) => newer.routes.has(key) && (!desired.supersededBySlot || newer.seen.slot === worker.seen.slot));
      if (superseded && route?.kind !== 'heldBack') {
        actions.push({ do: 'holdBack', worker: worker.seen.id, key });
        worker.routes.set(key, { kind: 'heldBack', pausedAt: now });
      } else if (!superseded && route?.kind !== 'routed') {
        actions.push({ do: 'route', worker: worker.seen.id, key });
        worker.routes.set(key, { kind: 'routed' });
      }
    }
  }
}

/**
 * True while another worker held back on one of `worker`'s listeners may still accept
 * there: draining `worker` now could send its clients to that one, to be evicted again.
 * A worker that has not confirmed within PAUSE_CONFIRM_MS is not waited for any longer.
 */
function heldBackStillAccepting(worker: Planned, workers: readonly Planned[], observed: Observed, now: number, actions: Action[], wake: Wake): boolean {
  let waiting = false;
  for (const other of workers) {
    if (other === worker) continue;
    for (const [key, route] of other.routes) {
      if (route?.kind !== 'heldBack' || route.pausedAt === null || !worker.routes.has(key) || !observed.confirmsPause(key)) continue;
      const until = route.pausedAt + PAUSE_CONFIRM_MS;
      if (now < until) {
        waiting = true;
        wake.when(until);
        continue;
      }
      actions.push({ do: 'stopWaiting', worker: other.seen.id, key });
      other.routes.set(key, { kind: 'heldBack', pausedAt: null });
    }
  }
  return waiting;
}

/**
 * Forks until there are `target` current workers, with at most `maxSurge` workers above
 * the target alive at once, and not before the crash backoff allows.
 */
function forkWhatIsMissing(desired: Desired, live: readonly Planned[], stale: (worker: Planned) => boolean, now: number, actions: Action[], wake: Wake): void {
  const held = new Set(live.filter((worker) => !stale(worker)).map((worker) => worker.seen.slot));
  let alive = live.length;
  while (desired.forks && held.size < desired.target && alive < desired.target + desired.maxSurge) {
    if (now < desired.forkAfter) {
      wake.when(desired.forkAfter);
      return;
    }
    let slot = 0;
    while (held.has(slot)) slot++;
    actions.push({ do: 'fork', slot, generation: desired.generation });
    held.add(slot);
    alive++;
  }
}

/**
 * Whether a worker that failed its start, before the cluster was ever ready, fails the
 * cluster's start. One still alive but not ready within readyTimeout does at once: every
 * other worker runs the same code and would wait as long (START_ATTEMPTS of them in a row
 * took 92 s with the defaults). One that exited does once it is the START_ATTEMPTS-th in a
 * row: a crash may pass (a port that the process before is still letting go of, a database
 * that comes up a moment later), and the retries back off.
 */
export function startFails(how: 'exited' | 'not ready', failedInARow: number): boolean {
  return how === 'not ready' || failedInARow >= START_ATTEMPTS;
}
