/**
 * The runtime's messages handed to the IPC channel and not yet written. A message that
 * carries a descriptor (a connection passed back to the primary) is written only once the
 * primary has acknowledged the previous one: child_process keeps the rest in a queue, and
 * plain messages wait behind them. `process.exit()` drops that queue, and a passed-back
 * connection dropped so is closed with nothing read: the client sees a reset. So a
 * draining worker exits only once this is empty (or the channel is gone, or its deadline
 * has come).
 *
 * Once a descriptor's message is written, the kernel holds the descriptor in the channel
 * until the primary reads it: the worker may exit then.
 */
export class SendsInFlight {
  private count = 0;
  private readonly idle = new Set<() => void>();

  /** Counts one send; the returned function is its completion callback (error or not). */
  track(): (error?: Error | null) => void {
    this.count++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.count > 0) return;
      for (const wake of this.idle) wake();
    };
  }

  get pending(): number {
    return this.count;
  }

  /**
   * Resolves with true once every tracked send is written; with false at `deadline`, or
   * when the channel disconnects (child_process then drops its queue without calling back).
   */
  settled(deadline: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (written: boolean) => {
        clearTimeout(timer);
        this.idle.delete(wake);
        process.off('disconnect', gone);
        resolve(written);
      };
      const wake = () => finish(true);
      const gone = () => finish(false);
      const timer = setTimeout(() => finish(false), Math.max(0, deadline - Date.now()));
      this.idle.add(wake);
      process.once('disconnect', gone);
    });
  }
}
