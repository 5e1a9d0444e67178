type Listener = (...args: unknown[]) => unknown;

/**
 * The listeners the app's own code adds for signals clusterize acts on, set aside as they
 * are added (and those already there when this is installed), so that clusterize decides
 * when they run. NestJS's `enableShutdownHooks()`, @godaddy/terminus, close-with-grace and
 * an OpenTelemetry `sdk.shutdown()` listen for SIGTERM (and often SIGINT, SIGHUP):
 *
 * - In a worker (and in-process), every drain calls the app's SIGTERM listeners (SIGINT's
 *   when a Ctrl-C began it) once its in-flight requests have finished: exactly once, also
 *   when the primary's drain and a signal sent to the whole process group both reach it,
 *   and so that a hook that flushes (spans, logs) or exits cuts no request.
 * - In the primary, where the plugin and API styles run the app's code too, its SIGINT
 *   and SIGTERM listeners run once the workers have drained, before the primary exits: run
 *   at once, NestJS's would raise the signal again, which the primary takes for an
 *   operator's second Ctrl-C. Its listeners for the reload signal are never called: a
 *   reload is not a stop (close-with-grace would exit 0). A line says so, once.
 */
export class AppSignalListeners {
  private readonly held = new Map<string, Listener[]>();
  private said = false;

  constructor(
    /** The signals whose app listeners are set aside. */
    private readonly owned: readonly NodeJS.Signals[],
    /** clusterize's own listeners, which stay. */
    private readonly ours: ReadonlySet<Listener>,
    private readonly log: (line: string) => void,
    /** A signal (the primary's reload signal) whose app listeners are never called. */
    private readonly never?: NodeJS.Signals,
  ) {}

  install(): void {
    for (const signal of this.owned) for (const listener of process.listeners(signal) as Listener[]) this.setAside(signal, listener);
    process.on('newListener', this.onNewListener);
  }

  uninstall(): void {
    process.off('newListener', this.onNewListener);
  }

  /** The app listens for `signal`: listeners were set aside and not called yet. */
  has(signal: NodeJS.Signals): boolean {
    return (this.held.get(signal)?.length ?? 0) > 0;
  }

  /**
   * Calls the app's listeners for `signal`, as Node would have, once: later calls call
   * none. Returns what each returned, for a caller that waits on them. A listener that
   * throws does so from a task of its own, uncaught, as it would have from a signal.
   */
  call(signal: NodeJS.Signals): Promise<unknown>[] {
    const listeners = this.held.get(signal) ?? [];
    this.held.clear();
    return listeners.map((listener) => new Promise((resolve, reject) => {
      setImmediate(() => {
        const result = listener(signal);
        Promise.resolve(result).then(resolve, reject);
      });
    }));
  }

  private readonly onNewListener = (event: string | symbol, listener: Listener): void => {
    if (typeof event !== 'string' || !this.owned.includes(event as NodeJS.Signals) || this.ours.has(listener)) return;
    // 'newListener' comes before the listener is added: it is taken away right after.
    queueMicrotask(() => {
      if ((process.listeners(event as NodeJS.Signals) as Listener[]).includes(listener)) this.setAside(event as NodeJS.Signals, listener);
    });
  };

  private setAside(signal: NodeJS.Signals, listener: Listener): void {
    if (this.ours.has(listener)) return;
    process.removeListener(signal, listener);
    if (signal !== this.never) {
      this.held.set(signal, [...(this.held.get(signal) ?? []), listener]);
      return;
    }
    if (this.said) return;
    this.said = true;
    this.log(`clusterize: app code in the primary listens for ${signal}, the signal that reloads the cluster; that listener is not called there (set reloadSignal or --reload-signal to another signal to leave ${signal} to the app)`);
  }
}
