/**
 * Resident memory for the heartbeat. `process.memoryUsage.rss()` opens /proc and throws
 * EMFILE when the process is out of descriptors (ENOMEM when out of memory), which is
 * exactly when a worker is busiest: then the last good sample stands in.
 */
export class ResidentMemory {
  private last = 0;

  read(): number {
    try {
      this.last = process.memoryUsage.rss();
    } catch {
      // Keep the last sample: a heartbeat that answers matters more than a fresh number.
    }
    return this.last;
  }
}
