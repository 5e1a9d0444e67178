import type { ResolvedOptions } from '../options.js';
import { outputHeldBack } from './output-relay.js';
import type { WorkerProcess } from './worker-process.js';

export interface RecycleReason {
  kind: 'hung' | 'memory' | 'age';
  detail: string;
}

/** What the monitor reports; the supervisor decides what to do about it. */
interface HealthReports {
  hung(worker: WorkerProcess, detail: string): void;
  outgrown(worker: WorkerProcess, kind: 'memory' | 'age', detail: string): void;
}

/** A ping sent and not yet answered, and how long it has waited, not counting the primary's own stalls. */
interface Beat {
  seq: number;
  waited: number;
  /** Its silence was put down to a debugger, and logged. */
  excused?: boolean;
}

const MB = 1024 * 1024;
const MAX_HEARTBEAT_INTERVAL_MS = 1_000;
const AGE_JITTER = 0.1;

/**
 * Heartbeats every ready worker (the answer carries its memory and event-loop delay) and
 * reports a worker that hangs or outgrows maxMemory / maxAge.
 *
 * Hung means a ping the worker was sent has gone unanswered for heartbeatTimeout. The wait
 * is counted in ticks of the primary's own timer, each worth at most one interval: when the
 * primary itself stalls (SIGSTOP, a long GC, a slow disk) the answers sit in the pipe
 * unread, and that time must not count against the workers. Nor must the time the primary
 * holds their output back because its own stdout or stderr is full: a worker that writes
 * then waits in write() (see OutputRelay).
 */
export class HealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private lastTick = 0;
  private readonly beats = new WeakMap<WorkerProcess, Beat>();
  readonly interval: number;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly workers: () => Iterable<WorkerProcess>,
    private readonly reports: HealthReports,
  ) {
    const timeout = options.heartbeatTimeout;
    this.interval = timeout > 0 ? Math.min(MAX_HEARTBEAT_INTERVAL_MS, Math.max(10, Math.floor(timeout / 4))) : MAX_HEARTBEAT_INTERVAL_MS;
  }

  start(): void {
    this.lastTick = Date.now();
    this.timer = setInterval(() => {
      try {
        this.tick();
      } catch (error) {
        this.options.log(`clusterize: internal error in the heartbeat: ${(error as Error)?.stack ?? String(error)}`);
      }
    }, this.interval);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The worker is ready: its age counts from its start. */
  watch(worker: WorkerProcess): void {
    const { maxAge } = this.options;
    if (maxAge <= 0) return;
    const age = maxAge * (1 - AGE_JITTER + 2 * AGE_JITTER * Math.random());
    worker.after(Math.max(0, worker.startedAt + age - Date.now()), () => {
      this.reports.outgrown(worker, 'age', `is ${Date.now() - worker.startedAt} ms old (maxAge ${maxAge} ms)`);
    }, (error) => this.options.log(`clusterize: internal error in the age check: ${String(error)}`));
  }

  forget(worker: WorkerProcess): void {
    this.beats.delete(worker);
  }

  /** The worker answered ping `seq`. */
  answered(worker: WorkerProcess, seq: number): void {
    if (this.beats.get(worker)?.seq === seq) this.beats.delete(worker);
  }

  /**
   * A worker whose inspector is open may be paused at a breakpoint: a debugger, not a hang.
   * It is not killed for it; a line says so once per silence.
   */
  private debugging(worker: WorkerProcess, beat: Beat): boolean {
    if (!worker.inspectorOpen) return false;
    if (!beat.excused) {
      beat.excused = true;
      this.options.log(`clusterize: worker ${worker.id} (pid ${worker.pid}) has not answered a heartbeat for ${beat.waited} ms, but its inspector is open (paused in a debugger?): not counted as hung`);
    }
    return true;
  }

  private tick(): void {
    const now = Date.now();
    const credit = outputHeldBack() ? 0 : Math.min(now - this.lastTick, this.interval);
    this.lastTick = now;
    const { heartbeatTimeout, maxMemory } = this.options;
    for (const worker of this.workers()) {
      if (!worker.routable || worker.leaving !== undefined) continue;
      const beat = this.beats.get(worker);
      if (beat === undefined) {
        const seq = ++this.seq;
        if (worker.post({ act: 'ping', seq })) this.beats.set(worker, { seq, waited: 0 });
      } else {
        beat.waited += credit;
        if (heartbeatTimeout > 0 && beat.waited > heartbeatTimeout && this.debugging(worker, beat)) continue;
        if (heartbeatTimeout > 0 && beat.waited > heartbeatTimeout) {
          this.beats.delete(worker);
          this.reports.hung(worker, `has not answered a heartbeat for ${beat.waited} ms (heartbeatTimeout ${heartbeatTimeout} ms)`);
          continue;
        }
      }
      if (maxMemory > 0 && worker.rss !== undefined && worker.rss > maxMemory * MB) {
        this.reports.outgrown(worker, 'memory', `uses ${Math.round(worker.rss / MB)} MB of memory (maxMemory ${maxMemory} MB)`);
      }
    }
  }
}
