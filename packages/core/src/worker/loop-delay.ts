import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { LoopDelay } from '../protocol.js';

const NS_PER_MS = 1e6;

/** Event-loop delay since the last heartbeat, sampled by libuv (not by our own timers). */
export class LoopDelayMonitor {
  private readonly histogram: ReturnType<typeof monitorEventLoopDelay> = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.histogram.enable();
  }

  take(): LoopDelay {
    const h = this.histogram;
    const delay = h.count === 0
      ? { mean: 0, p99: 0, max: 0 }
      : { mean: h.mean / NS_PER_MS, p99: h.percentile(99) / NS_PER_MS, max: h.max / NS_PER_MS };
    h.reset();
    return delay;
  }
}
