import type { ChildProcess } from 'node:child_process';
import { envelope, type LoopDelay, type PrimaryHandle, type PrimaryMessage } from '../protocol.js';
import { OutputTail } from './output-tail.js';
import { signalChild } from './signal-child.js';

/**
 * starting: forked, runtime not yet loaded. online: runtime loaded. listening: a server
 * listens. ready: gets connections. draining: finishing its requests, gets no new ones.
 * exited: gone.
 */
export type WorkerState = 'starting' | 'online' | 'listening' | 'ready' | 'draining' | 'exited';

/** Which states each state may move to; anything else (a late or forged message) is refused. */
const transitions: Record<WorkerState, readonly WorkerState[]> = {
  starting: ['online', 'listening', 'draining', 'exited'],
  online: ['listening', 'ready', 'draining', 'exited'],
  listening: ['ready', 'draining', 'exited'],
  ready: ['draining', 'exited'],
  draining: ['exited'],
  exited: [],
};

/** Why a worker is on its way out; a worker leaves once, for the first reason given. */
export type LeaveReason =
  | { kind: 'stop' }
  | { kind: 'replaced' }
  | { kind: 'hung'; detail: string }
  | { kind: 'self' };

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * The primary's view of one worker process. State changes go through methods that refuse
 * illegal transitions; the outside world sees snapshots (cluster.workers), never this.
 */
export class WorkerProcess {
  private current: WorkerState = 'starting';
  /** The release generation it was forked for (see Supervisor). */
  generation: number;
  /** Listener keys this worker's servers are registered for. */
  readonly keys = new Set<string>();
  /**
   * Listener keys it is ready on but not routed: a newer release serves them (see Supervisor).
   * Each maps to when the worker was told to close its own copy of the listener's socket,
   * until it confirms it did ('paused'); to null once it has, or where the primary alone
   * decides who gets a connection (forwarding listeners).
   */
  readonly heldBack = new Map<string, number | null>();
  /** Listener keys it gets connections on (routed by the supervisor's plan). */
  readonly routed = new Set<string>();
  /** Shared-socket listeners it was given and has not yet confirmed accepting on. */
  readonly awaitingAccept = new Set<string>();
  /** Open connections, as the worker last reported (heartbeats; forwarding policies also after each hand-off). */
  connections = 0;
  /** Connections it accepted since it started, as of its last heartbeat. */
  accepted = 0;
  /** Connections it accepted on a shared socket and passed back to the primary, above its share (see SharedListener). */
  passedBack = 0;
  /** Times it was asked to shed keep-alive connections to rebalance the cluster. */
  shedRequests = 0;
  readonly startedAt = Date.now();
  readyAt: number | undefined;
  exit: ExitInfo | undefined;
  /** Why the primary stopped it or gave up on it, where it did (for reports). */
  failure: string | undefined;
  /** Set once it starts leaving (asked to drain, drained by itself, hung), and when. */
  leaving: LeaveReason | undefined;
  leftAt: number | undefined;
  /** It left a heartbeat unanswered too long: how long (it is retired, then killed once others serve). */
  hung: string | undefined;
  /** It began to drain by itself (a signal sent to it, its app). */
  drainsOnItsOwn = false;
  /** The supervisor sent it SIGKILL. */
  killed = false;
  /** A memory or age recycle was asked for; `active` once its replacement is under way (one at a time). */
  recycleWanted: { kind: 'memory' | 'age'; detail: string; active?: boolean } | undefined;
  /** Connections its drain cut at the shutdown deadline, as it reported them. */
  cutConnections = 0;
  /** Killed because it had not exited by shutdownTimeout + the kill grace. */
  killedAtDeadline = false;
  /** Last heartbeat answer: resident memory (bytes) and event-loop delay. */
  rss: number | undefined;
  loopDelay: LoopDelay | undefined;
  readonly output = new OutputTail();
  /** Resolves when it is ready; rejects if it exits before. Internal: app listeners cannot break it. */
  readonly ready: Promise<void>;
  /** Resolves once the process has exited. */
  readonly exited: Promise<ExitInfo>;
  private readonly settleReady: PromiseWithResolvers<void>;
  private readonly settleExited: PromiseWithResolvers<ExitInfo>;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly id: number,
    /** Its place in the cluster, 0 to target - 1: taken over from the worker it replaces (see Supervisor). */
    readonly slot: number,
    readonly child: ChildProcess,
    readonly token: string,
    generation: number,
  ) {
    this.generation = generation;
    this.settleReady = Promise.withResolvers<void>();
    this.settleExited = Promise.withResolvers<ExitInfo>();
    this.ready = this.settleReady.promise;
    this.exited = this.settleExited.promise;
    // Nobody may be waiting when a worker fails to start: that is not an unhandled rejection.
    this.ready.catch(() => {});
  }

  get state(): WorkerState {
    return this.current;
  }

  /** `worker 3 (pid 1234)`, or `worker 3` when its spawn failed and there is no process. */
  get label(): string {
    return this.pid === undefined ? `worker ${this.id}` : `worker ${this.id} (pid ${this.pid})`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.current !== 'exited';
  }

  /** Ready and announced: the policy routes connections to it. */
  get routable(): boolean {
    return this.current === 'ready' && this.readyAt !== undefined;
  }

  /** Moves to `next` if that is a legal step from the current state; false otherwise. */
  moveTo(next: WorkerState): boolean {
    if (!transitions[this.current].includes(next)) return false;
    this.current = next;
    return true;
  }

  markReady(): void {
    this.readyAt = Date.now();
    this.settleReady.resolve();
  }

  markExited(exit: ExitInfo): void {
    this.current = 'exited';
    this.exit = exit;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.settleReady.reject(new Error(`worker ${this.id} ${this.describeExit()} before it was ready`));
    this.settleExited.resolve(exit);
  }

  /** Runs `fn` after `ms` unless the worker exits first; an error in `fn` is reported, never thrown. */
  after(ms: number, fn: () => void, report: (error: unknown) => void): void {
    if (!this.alive) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      try {
        fn();
      } catch (error) {
        report(error);
      }
    }, ms);
    this.timers.add(timer);
  }

  /** How it ended, for log lines and error reports. */
  describeExit(): string {
    if (this.failure !== undefined) return this.failure;
    if (this.exit === undefined) return 'is running';
    return this.exit.signal === null ? `exited with code ${this.exit.code}` : `was killed by ${this.exit.signal}`;
  }

  /** Sends an application message (the worker's process.on('message') gets it). */
  send(message: unknown): boolean {
    if (!this.child.connected) return false;
    try {
      this.child.send(message as never, undefined, undefined, sendFailed);
      return true;
    } catch {
      return false;
    }
  }

  /** Sends a protocol message (and a handle); false where the channel is already gone. */
  post<M extends PrimaryMessage>(message: M, handle?: PrimaryHandle<M>): boolean {
    if (!this.child.connected) return false;
    try {
      // The callback swallows EPIPE-style errors of a worker that died mid-send; the
      // 'exit' handler redistributes whatever it had not acknowledged.
      this.child.send(envelope(message), handle as never, sendFailed);
      return true;
    } catch {
      return false;
    }
  }

  /** Signals the process, only while it is ours and alive (see signalChild); a spawn that failed has none. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.alive) signalChild(this.child, signal);
  }
}

function sendFailed(): void {}
