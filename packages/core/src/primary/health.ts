import type { ResolvedOptions } from '../options.js';
import type { WorkerProcess } from './worker-process.js';

export interface RecycleReason {
  kind: 'hung' | 'memory' | 'age';
  detail: string;
}

const MB = 1024 * 1024;
const MAX_HEARTBEAT_INTERVAL_MS = 1_000;
const AGE_JITTER = 0.1;

/**
 * Heartbeats every ready worker (the answer carries its memory and event-loop delay) and
 * asks for a replacement when one hangs or outgrows maxMemory / maxAge. Hung workers are
 * replaced at once; memory and age recycling go one worker at a time, so the cluster
 * never loses more than one worker's capacity to it.
 */
export class HealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private recycling = false;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly live: () => WorkerProcess[],
    private readonly replace: (worker: WorkerProcess, reason: RecycleReason) => Promise<void>,
  ) {}

  start(): void {
    const timeout = this.options.heartbeatTimeout;
    const interval = timeout > 0 ? Math.min(MAX_HEARTBEAT_INTERVAL_MS, Math.max(10, Math.floor(timeout / 3))) : MAX_HEARTBEAT_INTERVAL_MS;
    this.timer = setInterval(() => this.tick(), interval);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = Date.now();
    const seq = ++this.seq;
    for (const worker of this.live()) {
      if (worker.state !== 'ready') continue;
      worker.post({ act: 'ping', seq });
      if (worker.replacing) continue;
      const silent = now - worker.lastPong;
      if (this.options.heartbeatTimeout > 0 && silent > this.options.heartbeatTimeout) {
        void this.replace(worker, { kind: 'hung', detail: `has not answered a heartbeat for ${silent} ms (heartbeatTimeout ${this.options.heartbeatTimeout} ms)` });
      } else if (!this.recycling) {
        const reason = this.outgrown(worker, now);
        if (reason !== undefined) this.recycleOne(worker, reason);
      }
    }
  }

  private outgrown(worker: WorkerProcess, now: number): RecycleReason | undefined {
    const { maxMemory, maxAge } = this.options;
    if (maxMemory > 0 && worker.rss !== undefined && worker.rss > maxMemory * MB) {
      return { kind: 'memory', detail: `uses ${Math.round(worker.rss / MB)} MB of memory (maxMemory ${maxMemory} MB)` };
    }
    if (maxAge > 0 && worker.readyAt !== undefined) {
      worker.recycleAt ??= worker.readyAt + maxAge * (1 - AGE_JITTER + 2 * AGE_JITTER * Math.random());
      if (now >= worker.recycleAt) return { kind: 'age', detail: `is ${now - worker.startedAt} ms old (maxAge ${maxAge} ms)` };
    }
    return undefined;
  }

  private recycleOne(worker: WorkerProcess, reason: RecycleReason): void {
    this.recycling = true;
    void this.replace(worker, reason).finally(() => {
      this.recycling = false;
    });
  }
}
