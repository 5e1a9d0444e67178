type Listener = (...args: unknown[]) => unknown;

/**
 * In the primary, clusterize owns SIGINT, SIGTERM and the reload signal. In the plugin and
 * API styles the app's own code runs there too, and what it listens for them with is a
 * shutdown for a process that serves: NestJS's `enableShutdownHooks()` closes the app and
 * raises the signal again (which the primary would take for an operator's second Ctrl-C,
 * and kill the workers), close-with-grace exits 0 (a SIGHUP reload would stop the service).
 * So those listeners are set aside as they are added (and those already there at once):
 * - for SIGINT and SIGTERM, they run once the workers have drained, before the primary
 *   exits (`runStopListeners`), where they close what the app opened in the primary;
 * - for the reload signal, never: a reload is not a stop. A line says so, once.
 */
export class AppSignalListeners {
  private readonly held = new Map<string, Listener[]>();
  private readonly said = new Set<string>();

  constructor(
    private readonly reloadSignal: NodeJS.Signals,
    /** The primary's own listeners, which stay. */
    private readonly ours: ReadonlySet<Listener>,
    private readonly log: (line: string) => void,
  ) {}

  install(): void {
    for (const signal of this.owned()) for (const listener of process.listeners(signal) as Listener[]) this.setAside(signal, listener);
    process.on('newListener', this.onNewListener);
  }

  uninstall(): void {
    process.off('newListener', this.onNewListener);
  }

  /**
   * Calls the app's listeners for `signal` that were set aside, as Node would have, and
   * waits for what they return, up to `timeout` ms. What they throw or reject with is
   * logged: the primary is on its way out.
   */
  async runStopListeners(signal: NodeJS.Signals, timeout: number): Promise<void> {
    const listeners = this.held.get(signal) ?? [];
    this.held.delete(signal);
    if (listeners.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeout);
    });
    const runs = listeners.map(async (listener) => {
      try {
        await listener(signal);
      } catch (error) {
        this.log(`clusterize: the app's ${signal} listener in the primary failed: ${(error as Error)?.stack ?? String(error)}`);
      }
    });
    await Promise.race([Promise.all(runs), deadline]);
    clearTimeout(timer);
  }

  private owned(): NodeJS.Signals[] {
    return ['SIGINT', 'SIGTERM', this.reloadSignal];
  }

  private readonly onNewListener = (event: string | symbol, listener: Listener): void => {
    if (typeof event !== 'string' || !this.owned().includes(event as NodeJS.Signals) || this.ours.has(listener)) return;
    // 'newListener' comes before the listener is added: it is taken away right after.
    queueMicrotask(() => {
      if ((process.listeners(event as NodeJS.Signals) as Listener[]).includes(listener)) this.setAside(event as NodeJS.Signals, listener);
    });
  };

  private setAside(signal: NodeJS.Signals, listener: Listener): void {
    if (this.ours.has(listener)) return;
    process.removeListener(signal, listener);
    if (signal !== this.reloadSignal) {
      this.held.set(signal, [...(this.held.get(signal) ?? []), listener]);
      return;
    }
    if (this.said.has(signal)) return;
    this.said.add(signal);
    this.log(`clusterize: app code in the primary listens for ${signal}, the signal that reloads the cluster; that listener is not called there (set reloadSignal or --reload-signal to another signal to leave ${signal} to the app)`);
  }
}
