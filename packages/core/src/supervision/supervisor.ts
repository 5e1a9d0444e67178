import { clusterizeError, clusterizeReport, type ClusterizeError } from '../errors.js';
import { EXIT_NODE_INTERNALS, readWorkerInternalsLine } from '../node-internals-check.js';
import type { ResolvedOptions } from '../options.js';
import { Backoff } from './backoff.js';
import type { ListenerRegistry } from '../listeners/listener-registry.js';
import { getPolicy } from '../listeners/policies/index.js';
import { PAUSE_CONFIRM_MS, plan, startFails, type Action, type Desired, type Observed, type ObservedWorker, type Route } from './plan.js';
import { Waiters } from './waiters.js';
import type { ExitInfo, LeaveReason, WorkerProcess } from './worker-process.js';

/** A worker's last lines in a report of its failed start. */
const OUTPUT_LINES_IN_REPORT = 20;
/**
 * Before the cluster was ever ready, how long a new worker's output waits for it to be ready
 * once its runtime has loaded (on a busy machine, Node.js itself may take seconds to get
 * there): a start that fails at once (a script that throws at import, a taken port) is then
 * reported by one worker's last lines, where every worker and every retry printed the same
 * stack trace; a slow start is seen as it goes after that.
 */
const START_OUTPUT_HOLD_MS = 2_000;
/**
 * The least a worker that drains on its own waits for its replacement, whatever
 * restartDelay says: a signal sent to the process group is handled by the primary first.
 */
const SELF_DRAIN_MIN_DELAY_MS = 100;
/** Plans in one reconcile before it gives up on a plan that does not settle (a defect). */
const MAX_PASSES = 4;

type SupervisorState = 'idle' | 'running' | 'stopping' | 'stopped';

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
interface SupervisorHost {
  /**
   * Forks worker `id` into `slot` for release `generation`, wired to this supervisor, its
   * output held back with `holdOutput` (see WorkerProcess.releaseOutput); throws if the fork
   * fails at once.
   */
  launch(id: number, slot: number, generation: number, holdOutput: boolean, onGone: (worker: WorkerProcess, exit: ExitInfo) => void): WorkerProcess;
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
 * `generation`. Operations (start, reload, scale, recycle, shutdown) change the desired
 * state; events (ready, exit, hung, a worker draining on its own) record facts. Then they
 * ask for a reconcile (shutdown runs one at once), and `reconcile()` hands the desired and
 * the observed state to `plan()` (plan.ts), which decides every fork, retirement, kill and
 * route, and applies what it returns; only kill(), an operator's order, goes around it.
 * One timer wakes it when the plan asks (a backoff, a deadline).
 *
 * A reload bumps the generation, so every worker ends up running code at least as new as
 * the last request. Crashed workers, and workers that drain on their own, are replaced
 * after a backoff that doubles per failure in a row. Before the cluster has been ready
 * once, a failed start may stop it (see startFails in plan.ts), and each worker's output is
 * held back until it is ready, for START_OUTPUT_HOLD_MS after its runtime loaded at most.
 *
 * Each worker holds a slot, its place in the cluster (0 to target - 1), which the `sticky`
 * policy maps clients to: a replacement takes over its predecessor's slot, so its clients
 * follow. During a reload an old and a new worker hold the same slot until the old one
 * drains.
 */
export class Supervisor {
  state: SupervisorState = 'idle';
  target: number;
  generation = 0;
  readonly workers = new Map<number, WorkerProcess>();
  private nextId = 0;
  private readonly backoff: Backoff;
  /** No fork before this time (crash backoff). */
  private forkAfter = 0;
  /** The plan's one timer: it asked to be run again then. */
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt: number | undefined;
  private reconcileQueued = false;
  private startedOnce = false;
  private failedStartsInARow = 0;
  private readonly waiters = new Waiters();
  private stopping: Promise<ShutdownReport> | undefined;
  private readonly supersededBySlot: boolean;
  private forksStopped = false;
  private stopSignal: 'SIGINT' | 'SIGTERM' = 'SIGTERM';

  constructor(
    private readonly options: ResolvedOptions,
    private readonly registry: ListenerRegistry,
    private readonly host: SupervisorHost,
  ) {
    this.target = options.workers;
    this.backoff = new Backoff(options.restartDelay, options.maxRestartDelay);
    this.supersededBySlot = getPolicy(options.policy).supersededBySlot === true;
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
    if (!worker.alive || worker.leaving !== undefined) return;
    if (worker.wantsRecycle(kind, detail)) this.requestReconcile();
  }

  /** A worker left a heartbeat unanswered too long: routed around now, killed once others serve in its place. */
  hung(worker: WorkerProcess, detail: string): void {
    if (!worker.alive || worker.leaving !== undefined || worker.hung !== undefined) return;
    this.options.log(`clusterize: worker ${worker.id} (pid ${worker.pid}) ${detail}; replacing it`);
    worker.hangs(detail);
    this.host.recycle(worker, 'hung', detail);
    this.requestReconcile();
  }

  /**
   * The worker began to drain by itself (a signal sent to it, its app): it gets a deadline
   * and a replacement, after the crash backoff: a worker that drains itself right after it
   * starts would otherwise be replaced in a loop that spins the CPU.
   */
  drainedBySelf(worker: WorkerProcess): void {
    if (!worker.alive || worker.leaving !== undefined || worker.drainsOnItsOwn) return;
    worker.drainsByItself();
    // A SIGTERM to the whole process group reached the primary at the same moment: its own
    // handler runs before this replacement is due, and the shutdown forks nothing.
    const delay = Math.max(SELF_DRAIN_MIN_DELAY_MS, this.afterFailure(worker.readyAt === undefined ? undefined : Date.now() - worker.readyAt));
    this.forkAfter = Math.max(this.forkAfter, Date.now() + delay);
    this.options.log(`clusterize: worker ${worker.id} (pid ${worker.pid}) is draining on its own (a SIGTERM from outside the cluster, or its app); starting a replacement in ${delay} ms${this.inARow()}`);
    this.requestReconcile();
  }

  /** The worker's drain deadline cut `connections` open connections. */
  cutAtDeadline(worker: WorkerProcess, connections: number): void {
    worker.cut(connections);
    const plural = connections === 1 ? '' : 's';
    this.options.log(`clusterize: worker ${worker.id} (pid ${worker.pid}) cut ${connections} open connection${plural} at the shutdown deadline (shutdownTimeout ${this.options.shutdownTimeout} ms)`);
  }

  /** The worker's runtime loaded: output held back since its fork waits START_OUTPUT_HOLD_MS more for it to be ready, at most. */
  cameOnline(worker: WorkerProcess): void {
    worker.after(START_OUTPUT_HOLD_MS, () => worker.releaseOutput(), () => {});
  }

  /** The worker really accepts connections now. */
  becameReady(worker: WorkerProcess): void {
    worker.markReady();
    worker.releaseOutput();
    this.failedStartsInARow = 0;
    this.host.ready(worker);
    this.requestReconcile();
  }

  /** The worker closed its copy of a listener's socket: held back there, it accepts nothing more. */
  pauseConfirmed(worker: WorkerProcess, key: string): void {
    if (worker.pausedOn(key)) this.requestReconcile();
  }

  /** Drains every worker (killing what is left at the deadline); resolves when all have exited, with what was cut. */
  shutdown(signal: 'SIGINT' | 'SIGTERM' = 'SIGTERM'): Promise<ShutdownReport> {
    if (this.stopping !== undefined) return this.stopping;
    this.state = 'stopping';
    this.stopSignal = signal;
    this.waiters.cancel(clusterizeError('ERR_CLUSTERIZE_NOT_RUNNING', 'the cluster is shutting down'));
    for (const listener of this.registry.all()) listener.close();
    const all = [...this.workers.values()];
    this.stopping = Promise.all(all.map((worker) => worker.exited)).then(() => {
      clearTimeout(this.wakeTimer);
      this.registry.closeAll();
      this.state = 'stopped';
      this.waiters.resolveStarted();
      const cutConnections = all.reduce((sum, worker) => sum + worker.cutConnections, 0);
      const killedWorkers = all.filter((worker) => worker.killedAtDeadline).length;
      return { cutConnections, killedWorkers, clean: cutConnections === 0 && killedWorkers === 0 };
    });
    // Every worker drains now, before the caller goes on (a second signal may kill them next).
    this.reconcile();
    return this.stopping;
  }

  /**
   * A shutdown is coming (a shutdown delay): no worker is forked from now on, not even to
   * replace one that crashed or drains on its own (every worker of the process group got
   * the same SIGTERM as the primary).
   */
  stopForking(): void {
    this.forksStopped = true;
  }

  /** Kills every worker at once (a second Ctrl-C): an operator's order, not a plan's. */
  kill(): void {
    for (const worker of this.workers.values()) worker.kill('SIGKILL');
  }

  requestReconcile(): void {
    if (this.reconcileQueued) return;
    this.reconcileQueued = true;
    queueMicrotask(() => {
      this.reconcileQueued = false;
      this.reconcile();
    });
  }

  /**
   * Plans from the desired and the recorded state and applies the plan, then plans again
   * on the state the actions made (a new worker has a ready deadline to wake up for) until
   * a plan asks for nothing more. The second one should: every action records the fact that
   * keeps it from being asked for again; MAX_PASSES stops a plan that does not settle.
   */
  private reconcile(): void {
    if (this.state !== 'running' && this.state !== 'stopping') return;
    try {
      for (let pass = 1; ; pass++) {
        const { actions, wakeAt } = plan(this.desired(), this.observe(), Date.now());
        if (actions.length === 0) {
          this.wakeUpAt(wakeAt);
          break;
        }
        if (pass === MAX_PASSES) throw new Error(`the plan still asks for ${JSON.stringify(actions)} after ${MAX_PASSES} passes`);
        for (const action of actions) if (!this.apply(action)) break;
      }
      if (this.state === 'running') this.settleWaiters();
    } catch (error) {
      this.options.log(`clusterize: internal error while supervising workers: ${(error as Error)?.stack ?? String(error)}`);
    }
  }

  private desired(): Desired {
    return {
      running: this.state === 'running',
      target: this.target,
      generation: this.generation,
      maxSurge: this.options.maxSurge,
      supersededBySlot: this.supersededBySlot,
      readyTimeout: this.options.readyTimeout,
      shutdownTimeout: this.options.shutdownTimeout,
      forkAfter: this.forkAfter,
      forks: !this.forksStopped,
    };
  }

  private observe(): Observed {
    const workers: ObservedWorker[] = [];
    for (const worker of this.workers.values()) {
      if (worker.phase === 'exited') continue;
      const listeners = new Map<string, Route | undefined>();
      for (const key of worker.keys) {
        const pausedAt = worker.heldBack.get(key);
        listeners.set(key, pausedAt !== undefined ? { kind: 'heldBack', pausedAt } : worker.routed.has(key) ? { kind: 'routed' } : undefined);
      }
      workers.push({
        id: worker.id, slot: worker.slot, generation: worker.generation, phase: worker.phase,
        startedAt: worker.startedAt, readyAt: worker.readyAt, listeners,
        leaving: worker.leaving === undefined ? undefined : { reason: worker.leaving, since: worker.leftAt! },
        hung: worker.hung, drainsOnItsOwn: worker.drainsOnItsOwn,
        recycle: worker.recycle,
        killed: worker.killed,
      });
    }
    return { workers, confirmsPause: (key) => this.registry.get(key)?.transport !== 'forward' };
  }

  /** Carries out one action of the plan; false when the rest of the plan must wait for a new one. */
  private apply(action: Action): boolean {
    if (action.do === 'fork') return this.forkOne(action.slot, action.generation);
    const worker = this.workers.get(action.worker);
    if (worker === undefined) return true;
    switch (action.do) {
      case 'retire':
        if (action.superseded) this.options.log(`clusterize: ${worker.label} is draining: a worker of the new release serves in its place`);
        this.retire(worker, action.reason);
        break;
      case 'kill':
        this.killFor(worker, action.why);
        break;
      case 'route':
        worker.routedOn(action.key);
        this.registry.get(action.key)?.route(worker);
        break;
      case 'holdBack': {
        const listener = this.registry.get(action.key);
        // A worker accepting on its own copy of the socket stops once it has closed it, and says so.
        worker.heldBackOn(action.key, listener === undefined || listener.transport === 'forward' ? null : Date.now());
        listener?.unroute(worker);
        break;
      }
      case 'stopWaiting':
        this.options.log(`clusterize: ${worker.label} did not confirm within ${PAUSE_CONFIRM_MS} ms that it stopped accepting; no longer waiting for it`);
        worker.pausedOn(action.key);
        break;
      case 'startRecycle': {
        const wanted = worker.recycleStarted();
        this.options.log(`clusterize: worker ${worker.id} (pid ${worker.pid}) ${wanted.detail}; replacing it`);
        this.host.recycle(worker, wanted.kind, wanted.detail);
        break;
      }
    }
    return true;
  }

  private wakeUpAt(at: number | undefined): void {
    if (at === this.wakeAt) return;
    clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    if (at === undefined) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeAt = undefined;
      this.requestReconcile();
    }, Math.max(0, at - Date.now()));
  }

  /** Forks a worker into `slot`; false when the fork failed at once (it is retried after the backoff). */
  private forkOne(slot: number, generation: number): boolean {
    const id = ++this.nextId;
    let worker: WorkerProcess;
    try {
      worker = this.host.launch(id, slot, generation, !this.startedOnce, (gone, exit) => this.onGone(gone, exit));
    } catch (error) {
      // EMFILE, EAGAIN, ENOMEM: nothing was started; back off and try again.
      this.options.log(`clusterize: could not start worker ${id}: ${(error as Error).message}`);
      this.afterFailure(undefined);
      this.requestReconcile();
      return false;
    }
    this.workers.set(id, worker);
    this.host.fork(worker);
    return true;
  }

  /**
   * Stops routing to the worker and tells it to drain (a worker that drains on its own
   * needs no telling; one that can no longer hear is killed); the plan kills it if it has
   * not exited by shutdownTimeout + grace.
   */
  private retire(worker: WorkerProcess, reason: LeaveReason): void {
    if (!worker.leaves(reason)) return;
    for (const key of worker.keys) this.registry.get(key)?.unroute(worker);
    // The app in the worker gets it as the signal that stops the cluster, SIGTERM otherwise (a reload, a scale-down, a recycle).
    const signal = reason.kind === 'stop' ? this.stopSignal : 'SIGTERM';
    if (reason.kind !== 'self' && !worker.post({ act: 'drain', timeout: this.options.shutdownTimeout, signal })) worker.kill('SIGKILL');
  }

  private killFor(worker: WorkerProcess, why: 'not ready' | 'deadline' | 'hung'): void {
    worker.killedFor(why, this.options.readyTimeout);
    if (why === 'not ready') this.options.log(`clusterize: worker ${worker.id} (pid ${worker.pid}) ${worker.failure}; killing it`);
    if (why === 'deadline') this.options.log(`clusterize: worker ${worker.id} (pid ${worker.pid}) did not finish within ${this.options.shutdownTimeout} ms; killing it`);
  }


  private onGone(worker: WorkerProcess, exit: ExitInfo): void {
    if (!worker.alive) return;
    const readyAt = worker.readyAt;
    worker.markExited(exit);
    this.workers.delete(worker.id);
    this.registry.forget(worker);
    this.host.forget(worker);
    this.host.exit(worker);
    // Output held back while it started: a worker whose start failed is reported by its last
    // lines instead; one stopped or replaced before it was ready has what it printed written.
    if (readyAt === undefined && worker.leaving === undefined && this.state === 'running') worker.discardOutput();
    else worker.releaseOutput();
    if (this.state !== 'running') return this.requestReconcile();
    if (readyAt === undefined && this.nodeLacksInternals(worker, exit)) return;
    if (worker.leaving !== undefined && worker.leaving.kind !== 'hung') return this.requestReconcile();
    if (readyAt === undefined && worker.leaving === undefined && this.failedStart(worker)) return;
    const delay = this.afterFailure(readyAt === undefined ? undefined : Date.now() - readyAt);
    const current = [...this.workers.values()].filter((w) => w.leaving === undefined && w.generation === this.generation).length;
    const next = current < this.target ? `; starting a replacement in ${delay} ms${this.inARow()}` : '';
    this.options.log(`clusterize: ${worker.label} ${readyAt === undefined ? worker.whyNotReady() : worker.describeExit()}${next}`);
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
    this.failStart(clusterizeReport('ERR_CLUSTERIZE_NODE_INTERNALS', detail));
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
    this.forkAfter = Date.now() + delay;
    return delay;
  }

  /**
   * A worker exited before it was ready. A reload or scale waiting on it fails (the old
   * workers are adopted as current and keep serving); before the cluster was ever ready,
   * it may stop the start (startFails). Returns true when the cluster is stopping.
   */
  private failedStart(worker: WorkerProcess): boolean {
    if (!this.startedOnce && startFails(worker.notReadyInTime ? 'not ready' : 'exited', ++this.failedStartsInARow)) {
      this.failStart(this.startFailure(worker));
      return true;
    }
    const report = `new ${worker.label} ${worker.whyNotReady()}`;
    const output = describeOutput(worker);
    if (this.waiters.reloading) {
      for (const old of this.workers.values()) if (old.leaving === undefined) old.adoptedInto(this.generation);
      const error = clusterizeReport('ERR_CLUSTERIZE_RELOAD_FAILED', `${report}; the old workers keep serving.${output}`);
      this.options.log(`clusterize: ${error.message}`);
      this.waiters.failReloads(error);
    }
    this.waiters.failSteady(clusterizeReport('ERR_CLUSTERIZE_SCALE_FAILED', `${report}; the cluster keeps trying with backoff.${output}`));
    return false;
  }

  /**
   * The worker's last lines, logged (without clusterize's own stack frames), and the one-line
   * error that follows them: the start stops, and the CLI prints that line last.
   */
  private startFailure(worker: WorkerProcess): ClusterizeError {
    const lines = trimBlank(worker.output.last(OUTPUT_LINES_IN_REPORT));
    if (lines.length > 0) this.options.log(`clusterize: the last output of ${worker.label}:\n${indent(lines)}`);
    const inARow = this.failedStartsInARow > 1 ? `; ${this.failedStartsInARow} workers in a row failed to start` : '';
    const printed = lines.length === 0 ? '; it printed nothing' : '';
    return clusterizeReport('ERR_CLUSTERIZE_START_FAILED', `${worker.label} ${worker.whyNotReady()}${printed}${inARow}`);
  }

  private failStart(error: ClusterizeError): void {
    // Every other worker runs the same code: the report of one is enough.
    for (const worker of this.workers.values()) worker.discardOutput();
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
}

/** `lines` without the blank ones at either end. */
function trimBlank(lines: string[]): string[] {
  let from = 0;
  let to = lines.length;
  while (from < to && lines[from]!.trim() === '') from++;
  while (to > from && lines[to - 1]!.trim() === '') to--;
  return lines.slice(from, to);
}

function describeOutput(worker: WorkerProcess): string {
  const lines = trimBlank(worker.output.last(OUTPUT_LINES_IN_REPORT));
  return lines.length === 0 ? ' It printed nothing.' : ` Its last output:\n${indent(lines)}`;
}

/** Each line two spaces in (a blank one stays empty), joined. */
function indent(lines: readonly string[]): string {
  return lines.map((line) => (line.trim() === '' ? '' : `  ${line}`)).join('\n');
}
