import type { ChildProcess } from 'node:child_process';
import { envelope, type LoopDelay, type PrimaryHandle, type PrimaryMessage } from '../protocol.js';
import type { RelayedSource } from './output-relay.js';
import { OutputTail } from './output-tail.js';
import { signalChild } from './signal-child.js';

/**
 * A worker's phase. starting: forked, runtime not yet loaded. online: runtime loaded.
 * listening: a server listens. ready: the worker said it is ready; on a shared socket it
 * has yet to confirm that it accepts there. serving: announced ready, gets connections.
 * draining: finishing its requests, gets no new ones. exited: gone.
 */
export type WorkerPhase = 'starting' | 'online' | 'listening' | 'ready' | 'serving' | 'draining' | 'exited';

/** A worker's state as the API, the admin server and the metrics show it: `ready` once it serves. */
export type WorkerState = 'starting' | 'online' | 'listening' | 'ready' | 'draining' | 'exited';

/** Which phases each phase may move to; anything else (a late or forged message) is refused. */
const transitions: Record<WorkerPhase, readonly WorkerPhase[]> = {
  starting: ['online', 'listening', 'draining', 'exited'],
  online: ['listening', 'ready', 'draining', 'exited'],
  listening: ['ready', 'draining', 'exited'],
  ready: ['serving', 'draining', 'exited'],
  serving: ['draining', 'exited'],
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

/** A memory or age recycle asked for; `active` once its replacement is under way (one at a time). */
export interface RecycleWish {
  readonly kind: 'memory' | 'age';
  readonly detail: string;
  readonly active: boolean;
}

/** What a worker's heartbeat answer says. */
export interface Pong {
  rss: number;
  loopDelay: LoopDelay;
  connections: number;
  accepted: number;
  /** Its inspector is open (--inspect, SIGUSR1 to it). */
  inspector: boolean;
}

/**
 * The primary's record of one worker process: every fact about it is written here,
 * through a method named after the event it records (phase changes are checked against
 * `transitions`); the rest of the primary reads them. The outside world sees snapshots
 * (cluster.workers), never this.
 */
export class WorkerProcess {
  #phase: WorkerPhase = 'starting';
  #generation: number;
  readonly #keys = new Set<string>();
  readonly #routed = new Set<string>();
  readonly #heldBack = new Map<string, number | null>();
  readonly #awaitingAccept = new Set<string>();
  #connections = 0;
  #accepted = 0;
  #passedBack = 0;
  #shedRequests = 0;
  #readyAt: number | undefined;
  #exit: ExitInfo | undefined;
  #failure: string | undefined;
  #listenFailure: string | undefined;
  #relayed: readonly RelayedSource[] = [];
  #leaving: LeaveReason | undefined;
  #leftAt: number | undefined;
  #hung: string | undefined;
  #drainsOnItsOwn = false;
  #killed = false;
  #killedAtDeadline = false;
  #notReadyInTime = false;
  #recycle: RecycleWish | undefined;
  #cutConnections = 0;
  #rss: number | undefined;
  #inspector = false;
  #loopDelay: LoopDelay | undefined;
  readonly startedAt = Date.now();
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
    this.#generation = generation;
    this.settleReady = Promise.withResolvers<void>();
    this.settleExited = Promise.withResolvers<ExitInfo>();
    this.ready = this.settleReady.promise;
    this.exited = this.settleExited.promise;
    // Nobody may be waiting when a worker fails to start: that is not an unhandled rejection.
    this.ready.catch(() => {});
  }

  get phase(): WorkerPhase {
    return this.#phase;
  }

  get state(): WorkerState {
    if (this.#phase === 'serving') return 'ready';
    return this.#phase === 'ready' ? 'listening' : this.#phase;
  }

  /** `worker 3 (pid 1234)`, or `worker 3` when its spawn failed and there is no process. */
  get label(): string {
    return this.pid === undefined ? `worker ${this.id}` : `worker ${this.id} (pid ${this.pid})`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.#phase !== 'exited';
  }

  /** Announced ready: the policy routes connections to it. */
  get routable(): boolean {
    return this.#phase === 'serving';
  }

  /** The release generation it was forked for (see Supervisor). */
  get generation(): number {
    return this.#generation;
  }

  /** Listener keys its servers are registered for. */
  get keys(): ReadonlySet<string> {
    return this.#keys;
  }

  /** Listener keys it gets connections on (routed by the supervisor's plan). */
  get routed(): ReadonlySet<string> {
    return this.#routed;
  }

  /**
   * Listener keys it is ready on but not routed: a newer release serves them (see plan.ts).
   * Each maps to when the worker was told to close its own copy of the listener's socket,
   * until it confirms it did ('paused'); to null once it has, or where the primary alone
   * decides who gets a connection (forwarding listeners).
   */
  get heldBack(): ReadonlyMap<string, number | null> {
    return this.#heldBack;
  }

  /** Open connections, as the worker last reported (heartbeats, hand-off acknowledgements, pass-backs). */
  get connections(): number {
    return this.#connections;
  }

  /** Connections it accepted since it started, as of its last heartbeat. */
  get accepted(): number {
    return this.#accepted;
  }

  /** Connections it accepted on a shared socket and passed back to the primary, above its share (see SharedListener). */
  get passedBack(): number {
    return this.#passedBack;
  }

  /** Times it was asked to shed keep-alive connections to rebalance the cluster. */
  get shedRequests(): number {
    return this.#shedRequests;
  }

  get readyAt(): number | undefined {
    return this.#readyAt;
  }

  get exit(): ExitInfo | undefined {
    return this.#exit;
  }

  /** Why the primary stopped it or gave up on it, where it did (for reports). */
  get failure(): string | undefined {
    return this.#failure;
  }

  /** Set once it starts leaving (asked to drain, drained by itself, hung). */
  get leaving(): LeaveReason | undefined {
    return this.#leaving;
  }

  get leftAt(): number | undefined {
    return this.#leftAt;
  }

  /** It left a heartbeat unanswered too long: how long (it is retired, then killed once others serve). */
  get hung(): string | undefined {
    return this.#hung;
  }

  /** It began to drain by itself (a signal sent to it, its app). */
  get drainsOnItsOwn(): boolean {
    return this.#drainsOnItsOwn;
  }

  /** The supervisor sent it SIGKILL. */
  get killed(): boolean {
    return this.#killed;
  }

  /** Killed because it was not ready within readyTimeout. */
  get notReadyInTime(): boolean {
    return this.#notReadyInTime;
  }

  /** Killed because it had not exited by shutdownTimeout + the kill grace. */
  get killedAtDeadline(): boolean {
    return this.#killedAtDeadline;
  }

  get recycle(): RecycleWish | undefined {
    return this.#recycle;
  }

  /** Connections its drain cut at the shutdown deadline, as it reported them. */
  get cutConnections(): number {
    return this.#cutConnections;
  }

  /** Last heartbeat answer: resident memory (bytes) and event-loop delay. */
  get rss(): number | undefined {
    return this.#rss;
  }

  get loopDelay(): LoopDelay | undefined {
    return this.#loopDelay;
  }

  /** The runtime loaded ('hello'); false when that is no step from where it is. */
  cameOnline(): boolean {
    return this.moveTo('online');
  }

  /** One of its servers registered on listener `key`. */
  registeredOn(key: string): void {
    this.#keys.add(key);
    if (this.#phase === 'starting' || this.#phase === 'online') this.moveTo('listening');
  }

  /** Its server on `key` closed (or it exited): it is neither routed nor held back there. */
  unregisteredFrom(key: string): void {
    this.#keys.delete(key);
    this.#routed.delete(key);
    this.#heldBack.delete(key);
  }

  /** Every listener forgot it (it exited). */
  unregisteredEverywhere(): void {
    for (const key of [...this.#keys]) this.unregisteredFrom(key);
  }

  /**
   * The worker said it is ready; on the listeners in `sharedKeys` it accepts on its own copy
   * of the socket and is announced once it confirms that. False when not a legal step.
   */
  saidReady(sharedKeys: Iterable<string>): boolean {
    if (!this.moveTo('ready')) return false;
    for (const key of sharedKeys) this.#awaitingAccept.add(key);
    return true;
  }

  /** It confirmed it accepts on `key`; true when that was the last confirmation it owed and it can be announced. */
  acceptsOn(key: string): boolean {
    return this.#awaitingAccept.delete(key) && this.announceable;
  }

  /** Ready, every accept confirmed, not yet announced. */
  get announceable(): boolean {
    return this.#phase === 'ready' && this.#awaitingAccept.size === 0;
  }

  routedOn(key: string): void {
    this.#heldBack.delete(key);
    this.#routed.add(key);
  }

  /** Unrouted on `key` for a newer release; `pausedAt`: when it was told to close its copy of the socket (null: nothing to confirm). */
  heldBackOn(key: string, pausedAt: number | null): void {
    this.#routed.delete(key);
    this.#heldBack.set(key, pausedAt);
  }

  /** It closed its copy of `key`'s socket, or the supervisor stopped waiting for it to say so; false when nothing was awaited. */
  pausedOn(key: string): boolean {
    if (typeof this.#heldBack.get(key) !== 'number') return false;
    this.#heldBack.set(key, null);
    return true;
  }

  /** What its last heartbeat answer or acknowledgement said of its load. */
  reported(load: Partial<Pong> & { connections: number }): void {
    this.#connections = load.connections;
    if (load.accepted !== undefined) this.#accepted = load.accepted;
    if (load.rss !== undefined) this.#rss = load.rss;
    if (load.loopDelay !== undefined) this.#loopDelay = load.loopDelay;
    if (load.inspector !== undefined) this.#inspector = load.inspector;
  }

  /** Its inspector was open at its last heartbeat answer: a debugger may hold it paused. */
  get inspectorOpen(): boolean {
    return this.#inspector;
  }

  /** It passed a connection back, with `connections` open as it sent it. */
  passedBackOne(connections: number): void {
    this.#connections = connections;
    this.#passedBack++;
  }

  askedToShed(): void {
    this.#shedRequests++;
  }

  /** A memory or age recycle is wanted; false when one is already. */
  wantsRecycle(kind: 'memory' | 'age', detail: string): boolean {
    if (this.#recycle !== undefined) return false;
    this.#recycle = { kind, detail, active: false };
    return true;
  }

  recycleStarted(): RecycleWish {
    this.#recycle = { ...this.#recycle!, active: true };
    return this.#recycle;
  }

  /** It left a heartbeat unanswered too long. */
  hangs(detail: string): void {
    this.#hung = detail;
    this.#failure = `was killed: ${detail}`;
  }

  drainsByItself(): void {
    this.#drainsOnItsOwn = true;
  }

  /** It is on its way out, for `reason`: routed nowhere from now on. False when it already was, or is gone. */
  leaves(reason: LeaveReason): boolean {
    if (!this.alive || this.#leaving !== undefined) return false;
    this.#leaving = reason;
    this.#leftAt = Date.now();
    this.moveTo('draining');
    this.#routed.clear();
    return true;
  }

  /** The deadline of its drain cut `connections` open connections. */
  cut(connections: number): void {
    this.#cutConnections += connections;
  }

  /** A reload that failed keeps it as a worker of the current release. */
  adoptedInto(generation: number): void {
    this.#generation = generation;
  }

  /** Where its stdout and stderr are relayed (held back while it starts, where the supervisor asked so). */
  relaysOutputThrough(sources: readonly RelayedSource[]): void {
    this.#relayed = sources;
  }

  /** Writes the output held back, and the rest as it comes. */
  releaseOutput(): void {
    for (const source of this.#relayed) source.release();
  }

  /** Drops the output held back, and the rest: its start failed, and its last lines (`output`) are what a report shows. */
  discardOutput(): void {
    for (const source of this.#relayed) source.discard();
  }

  /** The primary could not bind a listen() of its (`127.0.0.1:3000: EADDRINUSE`); the first is kept. */
  couldNotListen(detail: string): void {
    this.#listenFailure ??= detail;
  }

  /** Its spawn failed: there is no process, and no 'exit' will come. */
  couldNotStart(reason: string): void {
    this.#failure = `could not be started: ${reason}`;
  }

  /** SIGKILL, for why the plan said; the supervisor logs it. */
  killedFor(why: 'not ready' | 'deadline' | 'hung', readyTimeout: number): void {
    this.#killed = true;
    if (why === 'not ready') {
      this.#notReadyInTime = true;
      this.#failure = `was not ready within ${readyTimeout} ms`;
    }
    if (why === 'deadline') this.#killedAtDeadline = true;
    this.kill('SIGKILL');
  }

  /** Moves to `next` if that is a legal step from the current phase; false otherwise. */
  private moveTo(next: WorkerPhase): boolean {
    if (!transitions[this.#phase].includes(next)) return false;
    this.#phase = next;
    return true;
  }

  /** Announced ready: from now on it is routable. */
  markReady(): void {
    this.moveTo('serving');
    this.#readyAt = Date.now();
    this.settleReady.resolve();
  }

  markExited(exit: ExitInfo): void {
    this.#phase = 'exited';
    this.#exit = exit;
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

  /**
   * Why it never became ready, for a line of its own: how it ended, and what caused it
   * where that is known (a listen the primary could not bind, the error it printed).
   */
  whyNotReady(): string {
    const how = this.#failure ?? `${this.describeExit()} before it was ready`;
    const cause = this.#listenFailure === undefined ? this.output.firstError() : `could not listen on ${this.#listenFailure}`;
    return cause === undefined ? how : `${how}: ${cause}`;
  }

  /** How it ended, for log lines and error reports. */
  describeExit(): string {
    if (this.#failure !== undefined) return this.#failure;
    if (this.#exit === undefined) return 'is running';
    return this.#exit.signal === null ? `exited with code ${this.#exit.code}` : `was killed by ${this.#exit.signal}`;
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
