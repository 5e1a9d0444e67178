import type { ChildProcess } from 'node:child_process';
import { envelope, type LoopDelay, type PrimaryMessage } from '../protocol.js';
import type { ClientHandle, ListenHandle } from '../node-internals.js';
import type { Target } from './policies/index.js';
import { OutputTail } from './output-tail.js';

/**
 * starting: forked, runtime not yet loaded. online: runtime loaded. listening: a server
 * listens. ready: gets connections. draining: finishing its requests, gets no new ones.
 * exited: gone.
 */
export type WorkerState = 'starting' | 'online' | 'listening' | 'ready' | 'draining' | 'exited';

/** The primary's view of one worker process. */
export class WorkerProcess implements Target {
  state: WorkerState = 'starting';
  /** Connections handed over and not yet acknowledged, by hand-off id. */
  readonly pendingHandoffs = new Map<number, { key: string; client: ClientHandle }>();
  /** Open connections, as the worker last reported. */
  connections = 0;
  /** Listener keys this worker's servers are registered for. */
  readonly keys = new Set<string>();
  /** Shared-socket listeners it was given and has not yet confirmed accepting on. */
  readonly awaitingAccept = new Set<string>();
  readonly startedAt = Date.now();
  readyAt: number | undefined;
  readyTimer: NodeJS.Timeout | undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  /** Set when the primary itself asked this worker to go (drain, shutdown, kill). */
  stopRequested = false;
  /** Why the primary killed it, where it did (for reports). */
  failure: string | undefined;
  /** A replacement for it is on the way (recycling, hung). */
  replacing = false;
  /** Last heartbeat answer: when, resident memory (bytes), event-loop delay. */
  lastPong: number;
  rss: number | undefined;
  loopDelay: LoopDelay | undefined;
  /** When maxAge recycles it (jittered), if maxAge is set. */
  recycleAt: number | undefined;
  readonly output = new OutputTail();

  constructor(
    readonly id: number,
    readonly child: ChildProcess,
    readonly token: string,
  ) {
    this.lastPong = this.startedAt;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get pending(): number {
    return this.pendingHandoffs.size;
  }

  get alive(): boolean {
    return this.state !== 'exited';
  }

  get routable(): boolean {
    return this.state === 'ready';
  }

  /** How it ended, for log lines and reload errors. */
  describeExit(): string {
    if (this.failure !== undefined) return this.failure;
    return this.signalCode === null ? `exited with code ${this.exitCode}` : `was killed by ${this.signalCode}`;
  }

  /** Sends an application message (the worker's process.on('message') gets it). */
  send(message: unknown): boolean {
    if (!this.child.connected) return false;
    this.child.send(message as never, undefined, undefined, sendFailed);
    return true;
  }

  /** Sends a protocol message (and a handle); false where the channel is already gone. */
  post(message: PrimaryMessage, handle?: ClientHandle | ListenHandle): boolean {
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

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.alive && this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

function sendFailed(): void {}
