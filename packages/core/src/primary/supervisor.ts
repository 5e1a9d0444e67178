import { clusterizeError, type ClusterizeError } from '../errors.js';
import { EXIT_NODE_INTERNALS, readWorkerInternalsLine } from '../node-internals-check.js';
import type { ResolvedOptions } from '../options.js';
import { Backoff } from './backoff.js';
import type { ListenerRegistry } from './listener-registry.js';
import { getPolicy } from './policies/index.js';
import { Waiters } from './waiters.js';
import type { ExitInfo, LeaveReason, WorkerProcess } from './worker-process.js';

/** Failed starts in a row, before the cluster was ever ready, after which it gives up. */
export const START_ATTEMPTS = 5;
/** Grace after shutdownTimeout for a worker to act on its own deadline before SIGKILL. */
export const KILL_GRACE_MS = 1_000;
/** How long the next old worker's drain waits for held-back workers to confirm they stopped accepting. */
export const PAUSE_CONFIRM_MS = 1_000;
const OUTPUT_LINES_IN_REPORT = 10;

export type SupervisorState = 'idle' | 'running' | 'stopping' | 'stopped';

/** What a shutdown could not finish: `shutdown()` resolves with it. */
export interface ShutdownReport {
  /** Connections the workers closed at the shutdown deadline, with whatever was in flight on them. */
  readonly cutConnections: number;
  /** Workers killed because they had not exited by shutdownTimeout + 1 s. */
  readonly killedWorkers: number;
  /** True when every request finished in time: nothing was cut and no worker killed. */
  readonly clean: boolean;
}

/** What the supervisor needs from the cluster around it. */
export interface SupervisorHost {
  /** Forks worker `id` into `slot` for release `generation`, wired to this supervisor; throws if the fork fails at once. */
  launch(id: number, slot: number, generation: number, onGone: (worker: WorkerProcess, exit: ExitInfo) => void): WorkerProcess;
  /** Public events, each with the worker it concerns. */
  fork(worker: WorkerProcess): void;
  ready(worker: WorkerProcess): void;
  exit(worker: WorkerProcess): void;
  recycle(worker: WorkerProcess, kind: 'hung' | 'memory' | 'age', detail: string): void;
  /** Stops watching an exited worker's heartbeats and age. */
  forget(worker: WorkerProcess): void;
}

/**
 * Keeps the cluster at its desired state: `target` ready workers, all of release
 * `generation`. Operations (start, reload, scale, recycle, shutdown) and events (ready,
 * exit, hung, a worker draining on its own) only change the desired or the recorded state
 * and ask for a reconcile; `reconcile()` is the one place that forks or retires workers,
 * and running it again is always safe.
 *
 * A reload bumps the generation: older workers are replaced `maxSurge` at a time, each
 * drained only once a newer one is ready. A newer reload during a reload bumps it again,
 * so every worker ends up running code at least as new as the last request. Crashed
 * workers are replaced after a backoff that doubles per crash in a row. Before the
 * cluster has been ready once, START_ATTEMPTS failed starts in a row stop it.
 *
 * Each worker holds a slot, its place in the cluster (0 to target - 1), which the `sticky`
 * policy maps clients to. A new worker takes the lowest slot no current worker holds: a
 * crashed, hung, recycled or reloaded worker's replacement takes over its slot, so its
 * clients follow. During a reload an old and a new worker hold the same slot until the
 * old one drains, and the old worker retired first is one whose slot a ready new worker
 * holds; a scale-down retires the highest slots.
 *
 * During a reload, once a new worker is ready, the old ones still waiting for their turn to
 * drain get no new connections (they are held back: unrouted, still serving what they
 * have), so a client evicted from one old worker reconnects to a new one, never to another
 * old one to be evicted again. Under `sticky` the old worker is held back once the new
 * worker of its own slot is ready, so a slot's clients move once, together. A listener's
 * last routed worker is never held back: a new worker must be ready on it first. Where
 * workers accept on their own copy of the socket (shared, reuseport), a held-back worker
 * stops accepting only once it has closed its copy, so no old worker starts to drain
 * while another on the same listener has not confirmed that (for at most PAUSE_CONFIRM_MS).
 */
export class Supervisor {
  state: SupervisorState = 'idle';
  target: number;
  generation = 0;
  readonly workers = new Map<number, WorkerProcess>();
  private nextId = 0;
  private readonly backoff: Backoff;
  /** No fork before this time (crash backoff). */
  private forkGate = 0;
  private gateTimer: NodeJS.Timeout | undefined;
  /** Reconciles when the wait for an unconfirmed pause runs out. */
  private pauseTimer: NodeJS.Timeout | undefined;
  private reconcileQueued = false;
  private startedOnce = false;
  private failedStartsInARow = 0;
  private readonly waiters = new Waiters();
  private stopping: Promise<ShutdownReport> | undefined;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly registry: ListenerRegistry,
    private readonly host: SupervisorHost,
  ) {
    this.target = options.workers;
    this.backoff = new Backoff(options.restartDelay, options.maxRestartDelay);
  }

  /** Resolves once `target` workers are ready; rejects (START_FAILED) when start-up cannot succeed. */
  start(): Promise<void> {
    this.state = 'running';
    this.requestReconcile();
    return this.waiters.started;
  }

  /** Replaces every worker with one of a new generation; resolves when no older one is left. */
  reload(): Promise<void> {
    this.generation++;
    const done = this.waiters.reload(this.generation);
    this.requestReconcile();
    return done;
  }

  /** Runs `count` workers; resolves when exactly that many current workers serve and no other is left. */
  scale(count: number): Promise<void> {
    this.target = count;
    const done = this.waiters.steady();
    this.requestReconcile();
    return done;
  }

  /** A worker outgrew maxMemory or maxAge: it is replaced when no other recycle is under way. */
  recycle(worker: WorkerProcess, kind: 'memory' | 'age', detail: string): void {
    if (!worker.alive || worker.leaving !== undefined || worker.recycleWanted !== undefined) return;
    worker.recycleWanted = { kind, detail };
    this.requestReconcile();
  }

  /** A worker left a heartbeat unanswered too long: routed around now, killed once others serve in its place. */
  hung(worker: WorkerProcess, detail: string): void {
    if (!worker.alive || worker.leaving !== undefined) return;
    this.options.log(`clusterize: worker ${worker.id} (pid ${worker.pid}) ${detail}; replacing it`);
    worker.failure = `was killed: ${detail}`;
    this.host.recycle(worker, 'hung', detail);
    this.retire(worker, { kind: 'hung', detail });
  }

  /**
   * The worker began to drain by itself (a signal sent to it, its app): it gets a deadline
   * and a replacement, after the crash backoff: a worker that drains itself right after it
   * starts would otherwise be replaced in a loop that spins the CPU.
   */
  drainedBySelf(worker: WorkerProcess): void {
    if (!worker.alive || worker.leaving !== undefined) return;
    const delay = this.afterFailure(worker.readyAt === undefined ? undefined : Date.now() - worker.readyAt);
    this.options.log(`clusterize: worker ${worker.id} (pid ${worker.pid}) is draining on its own (a SIGTERM from outside the cluster, or its app); starting a replacement in ${delay} ms${this.inARow()}`);
    this.retire(worker, { kind: 'self' });
  }

  /** The worker's drain deadline cut `connections` open connections. */
  cutAtDeadline(worker: WorkerProcess, connections: number): void {
    worker.cutConnections += connections;
    const plural = connections === 1 ? '' : 's';
    this.options.log(`clusterize: worker ${worker.id} (pid ${worker.pid}) cut ${connections} open connection${plural} at the shutdown deadline (shutdownTimeout ${this.options.shutdownTimeout} ms)`);
  }

  /** The worker really accepts connections now. */
  becameReady(worker: WorkerProcess): void {
    worker.markReady();
    this.failedStartsInARow = 0;
    this.host.ready(worker);
    this.requestReconcile();
  }

  /** The worker closed its copy of a listener's socket: held back there, it accepts nothing more. */
  pauseConfirmed(worker: WorkerProcess, key: string): void {
    if (typeof worker.heldBack.get(key) !== 'number') return;
    worker.heldBack.set(key, null);
    this.requestReconcile();
  }

  /** Drains every worker (killing what is left at the deadline); resolves when all have exited, with what was cut. */
  shutdown(): Promise<ShutdownReport> {
    if (this.stopping !== undefined) return this.stopping;
    this.state = 'stopping';
    clearTimeout(this.gateTimer);
    clearTimeout(this.pauseTimer);
    this.waiters.cancel(clusterizeError('ERR_CLUSTERIZE_NOT_RUNNING', 'the cluster is shutting down'));
    for (const listener of this.registry.all()) listener.close();
    const all = [...this.workers.values()];
    for (const worker of all) this.retire(worker, { kind: 'stop' });
    this.stopping = Promise.all(all.map((worker) => worker.exited)).then(() => {
      this.registry.closeAll();
      this.state = 'stopped';
      this.waiters.resolveStarted();
      const cutConnections = all.reduce((sum, worker) => sum + worker.cutConnections, 0);
      const killedWorkers = all.filter((worker) => worker.killedAtDeadline).length;
      return { cutConnections, killedWorkers, clean: cutConnections === 0 && killedWorkers === 0 };
    });
    return this.stopping;
  }

  /** Kills every worker at once (a second Ctrl-C). */
  kill(): void {
    for (const worker of this.workers.values()) worker.kill('SIGKILL');
  }

  requestReconcile(): void {
    if (this.reconcileQueued) return;
    this.reconcileQueued = true;
    queueMicrotask(() => {
      this.reconcileQueued = false;
      try {
        this.reconcile();
      } catch (error) {
        this.options.log(`clusterize: internal error while supervising workers: ${(error as Error)?.stack ?? String(error)}`);
      }
    });
  }

  /** One pass from the recorded state toward the desired one. */
  private reconcile(): void {
    if (this.state !== 'running') return;
    this.startNextRecycle();
    const live = () => [...this.workers.values()].filter((worker) => worker.leaving === undefined);
    const stale = (worker: WorkerProcess) => worker.generation < this.generation || worker.recycleWanted?.active === true;
    // Superseded before they served: no reason to wait for them.
    for (const worker of live()) if (stale(worker) && !worker.routable) this.retire(worker, { kind: 'replaced' });
    // More current workers than the target (a scale-down): those not serving go first, then the highest slots.
    const current = live().filter((worker) => !stale(worker));
    const extra = current.length - this.target;
    if (extra > 0) {
      const byUse = current.sort((a, b) => Number(a.routable) - Number(b.routable) || b.slot - a.slot || b.id - a.id);
      for (const worker of byUse.slice(0, extra)) this.retire(worker, { kind: 'stop' });
    }
    this.routeToNewest();
    // More serving than needed: a newer worker took over, so stale ones drain, first those
    // whose slot a current worker serves, then the oldest.
    const serving = live().filter((worker) => worker.routable);
    const excess = serving.length - this.target;
    if (excess > 0) {
      const served = new Set(serving.filter((worker) => !stale(worker)).map((worker) => worker.slot));
      const oldest = serving.filter(stale).sort((a, b) =>
        Number(served.has(b.slot)) - Number(served.has(a.slot)) || a.generation - b.generation || a.id - b.id);
      for (const worker of oldest.slice(0, excess)) {
        if (this.heldBackStillAccepting(worker)) continue;
        if (worker.generation < this.generation) this.options.log(`clusterize: ${worker.label} is draining: a worker of the new release serves in its place`);
        this.retire(worker, { kind: 'replaced' });
      }
    }
    const slots = new Set(live().filter((worker) => !stale(worker)).map((worker) => worker.slot));
    this.forkWhatIsMissing(slots, live().length);
    this.killReplacedHungWorkers();
    this.settleWaiters();
  }

  /** Holds back the ready workers of an older release that a ready current one stands in for, per listener; routes the others. */
  private routeToNewest(): void {
    const ready = [...this.workers.values()].filter((worker) => worker.routable && worker.leaving === undefined);
    const current = ready.filter((worker) => worker.generation === this.generation);
    const bySlot = getPolicy(this.options.policy).supersededBySlot === true;
    for (const worker of ready) {
      for (const key of worker.keys) {
        const superseded = worker.generation < this.generation
          && current.some((newer) => newer.keys.has(key) && (!bySlot || newer.slot === worker.slot));
        if (superseded === worker.heldBack.has(key)) continue;
        const listener = this.registry.get(key);
        if (listener === undefined) continue;
        if (superseded) {
          // A worker accepting on its own copy of the socket stops once it has closed it, and says so.
          worker.heldBack.set(key, listener.transport === 'forward' ? null : Date.now());
          listener.unroute(worker);
        } else {
          worker.heldBack.delete(key);
          listener.route(worker);
        }
      }
    }
  }

  /**
   * True while another worker held back on one of `worker`'s listeners may still accept
   * there: draining `worker` now could send its clients to that one, to be evicted again.
   * A worker that has not confirmed within PAUSE_CONFIRM_MS is not waited for any longer.
   */
  private heldBackStillAccepting(worker: WorkerProcess): boolean {
    let wait = Infinity;
    for (const other of this.workers.values()) {
      if (other === worker) continue;
      for (const [key, pausedAt] of other.heldBack) {
        if (pausedAt === null || !worker.keys.has(key)) continue;
        const left = pausedAt + PAUSE_CONFIRM_MS - Date.now();
        if (left > 0) {
          wait = Math.min(wait, left);
          continue;
        }
        this.options.log(`clusterize: ${other.label} did not confirm within ${PAUSE_CONFIRM_MS} ms that it stopped accepting; no longer waiting for it`);
        other.heldBack.set(key, null);
      }
    }
    if (wait === Infinity) return false;
    clearTimeout(this.pauseTimer);
    this.pauseTimer = setTimeout(() => this.requestReconcile(), wait);
    return true;
  }

  /** Memory and age recycles go one at a time, so the cluster never loses more than one worker's capacity to them. */
  private startNextRecycle(): void {
    // The one under way is done when its worker has exited, drain included.
    if ([...this.workers.values()].some((worker) => worker.recycleWanted?.active === true)) return;
    const next = [...this.workers.values()].find((worker) => worker.leaving === undefined && worker.recycleWanted !== undefined && worker.routable && worker.generation === this.generation);
    if (next === undefined) return;
    const wanted = next.recycleWanted!;
    wanted.active = true;
    this.options.log(`clusterize: worker ${next.id} (pid ${next.pid}) ${wanted.detail}; replacing it`);
    this.host.recycle(next, wanted.kind, wanted.detail);
  }

  /**
   * Forks until there are `target` current workers, with at most `maxSurge` workers above
   * the target alive at once, and not before the crash backoff allows.
   */
  private forkWhatIsMissing(held: Set<number>, live: number): void {
    const { maxSurge } = this.options;
    while (held.size < this.target && live < this.target + maxSurge) {
      const wait = this.forkGate - Date.now();
      if (wait > 0) {
        clearTimeout(this.gateTimer);
        this.gateTimer = setTimeout(() => this.requestReconcile(), wait);
        return;
      }
      const slot = lowestFree(held);
      if (!this.forkOne(slot)) return;
      held.add(slot);
      live++;
    }
  }

  private forkOne(slot: number): boolean {
    const id = ++this.nextId;
    let worker: WorkerProcess;
    try {
      worker = this.host.launch(id, slot, this.generation, (gone, exit) => this.onGone(gone, exit));
    } catch (error) {
      // EMFILE, EAGAIN, ENOMEM: nothing was started; back off and try again.
      this.options.log(`clusterize: could not start worker ${id}: ${(error as Error).message}`);
      this.afterFailure(undefined);
      this.requestReconcile();
      return false;
    }
    this.workers.set(id, worker);
    const { readyTimeout } = this.options;
    worker.after(readyTimeout, () => {
      if (worker.readyAt !== undefined || worker.leaving !== undefined) return;
      worker.failure = `was not ready within ${readyTimeout} ms`;
      this.options.log(`clusterize: worker ${worker.id} (pid ${worker.pid}) ${worker.failure}; killing it`);
      worker.kill('SIGKILL');
    }, (error) => this.reportError(error));
    this.host.fork(worker);
    return true;
  }

  /**
   * Stops routing to the worker and tells it to drain; whatever the reason, it is killed
   * if it has not exited by shutdownTimeout + grace.
   */
  private retire(worker: WorkerProcess, reason: LeaveReason): void {
    if (!worker.alive || worker.leaving !== undefined) return;
    worker.leaving = reason;
    worker.moveTo('draining');
    for (const key of worker.keys) this.registry.get(key)?.unroute(worker);
    if (reason.kind !== 'self' && !worker.post({ act: 'drain', timeout: this.options.shutdownTimeout })) worker.kill('SIGKILL');
    const { shutdownTimeout } = this.options;
    worker.after(shutdownTimeout + KILL_GRACE_MS, () => {
      this.options.log(`clusterize: worker ${worker.id} (pid ${worker.pid}) did not finish within ${shutdownTimeout} ms; killing it`);
      worker.killedAtDeadline = true;
      worker.kill('SIGKILL');
    }, (error) => this.reportError(error));
    this.requestReconcile();
  }

  /** A hung worker cannot drain; once `target` others serve, it is killed. */
  private killReplacedHungWorkers(): void {
    const serving = [...this.workers.values()].filter((worker) => worker.routable && worker.leaving === undefined).length;
    if (serving < this.target) return;
    for (const worker of this.workers.values()) if (worker.leaving?.kind === 'hung') worker.kill('SIGKILL');
  }

  private onGone(worker: WorkerProcess, exit: ExitInfo): void {
    if (!worker.alive) return;
    const readyAt = worker.readyAt;
    worker.markExited(exit);
    this.workers.delete(worker.id);
    this.registry.forget(worker);
    this.host.forget(worker);
    this.host.exit(worker);
    if (this.state !== 'running') return;
    if (readyAt === undefined && this.nodeLacksInternals(worker, exit)) return;
    if (worker.leaving !== undefined && worker.leaving.kind !== 'hung') return this.requestReconcile();
    if (readyAt === undefined && worker.leaving === undefined && this.failedStart(worker)) return;
    const delay = this.afterFailure(readyAt === undefined ? undefined : Date.now() - readyAt);
    const current = [...this.workers.values()].filter((w) => w.leaving === undefined && w.generation === this.generation).length;
    const next = current < this.target ? `; starting a replacement in ${delay} ms${this.inARow()}` : '';
    this.options.log(`clusterize: ${worker.label} ${worker.describeExit()}${next}`);
    this.requestReconcile();
  }

  /**
   * A worker that found a Node.js internal missing before the cluster was ever ready: every
   * other would too, so the start fails at once with its line. True when the cluster stops.
   */
  private nodeLacksInternals(worker: WorkerProcess, exit: ExitInfo): boolean {
    if (this.startedOnce || exit.code !== EXIT_NODE_INTERNALS) return false;
    // An app of its own that exits with the same code printed no such line.
    const detail = readWorkerInternalsLine(worker.output.last());
    if (detail === undefined) return false;
    this.failStart(clusterizeError('ERR_CLUSTERIZE_NODE_INTERNALS', detail));
    return true;
  }

  /** ` (N failures in a row)` once a crash or self-drain follows another without a stable worker between them. */
  private inARow(): string {
    const count = this.backoff.crashesInARow;
    return count > 1 ? ` (${count} failures in a row)` : '';
  }

  /** Backs off the next fork; returns the delay. */
  private afterFailure(readyFor: number | undefined): number {
    const delay = this.backoff.next(readyFor);
    this.forkGate = Date.now() + delay;
    return delay;
  }

  /**
   * A worker exited before it was ready. A reload or scale waiting on it fails (the old
   * workers are adopted as current and keep serving); before the cluster was ever ready,
   * START_ATTEMPTS in a row stop it. Returns true when the cluster is stopping.
   */
  private failedStart(worker: WorkerProcess): boolean {
    const how = worker.failure ?? `${worker.describeExit()} before it was ready`;
    const report = `new ${worker.label} ${how}`;
    const output = describeOutput(worker);
    if (!this.startedOnce && ++this.failedStartsInARow >= START_ATTEMPTS) {
      const error = clusterizeError('ERR_CLUSTERIZE_START_FAILED',
        `${START_ATTEMPTS} workers in a row exited before they were ready; the last, ${worker.label}, ${how}.${output}`);
      this.failStart(error);
      return true;
    }
    if (this.waiters.reloading) {
      for (const old of this.workers.values()) if (old.leaving === undefined) old.generation = this.generation;
      const error = clusterizeError('ERR_CLUSTERIZE_RELOAD_FAILED', `${report}; the old workers keep serving.${output}`);
      this.options.log(`clusterize: reload failed: ${error.message}`);
      this.waiters.failReloads(error);
    }
    this.waiters.failSteady(clusterizeError('ERR_CLUSTERIZE_SCALE_FAILED', `${report}; the cluster keeps trying with backoff.${output}`));
    return false;
  }

  private failStart(error: ClusterizeError): void {
    this.waiters.failStarted(error);
    this.waiters.cancel(error);
    void this.shutdown();
  }

  private settleWaiters(): void {
    const all = [...this.workers.values()];
    const serving = all.filter((worker) => worker.routable && worker.leaving === undefined);
    if (serving.length >= this.target && this.waiters.resolveStarted()) this.startedOnce = true;
    this.waiters.settleReloads((generation) =>
      all.every((worker) => worker.generation >= generation)
      && serving.filter((worker) => worker.generation >= generation).length >= this.target);
    const steady = all.length === this.target
      && all.every((worker) => worker.routable && worker.leaving === undefined && worker.generation === this.generation);
    if (steady) this.waiters.resolveSteady();
  }

  private reportError(error: unknown): void {
    this.options.log(`clusterize: internal error in a worker timer: ${(error as Error)?.stack ?? String(error)}`);
  }
}

function lowestFree(held: Set<number>): number {
  let slot = 0;
  while (held.has(slot)) slot++;
  return slot;
}

function describeOutput(worker: WorkerProcess): string {
  const lines = worker.output.last(OUTPUT_LINES_IN_REPORT);
  return lines.length === 0 ? ' It printed nothing.' : ` Its last output:\n  ${lines.join('\n  ')}`;
}
