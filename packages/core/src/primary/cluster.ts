import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { dirname } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { LoopDelay, Sockname } from '../protocol.js';
import { clusterizeError, isClusterizeError } from '../errors.js';
import { EXIT_NODE_INTERNALS } from '../node-internals-check.js';
import { onInternalMessage } from '../node-internals.js';
import { validateWorkerCount, type ResolvedOptions } from '../options.js';
import { AdminServer, reportOf } from '../admin/admin-server.js';
import { ClusterStats } from '../admin/cluster-stats.js';
import type { RequestName, RequestPayload, RequestReply, Subscriber, Topic, TopicData } from '../message-types.js';
import { DEFAULT_LEAD } from '../worker/leads.js';
import { ControlServer } from '../control/control-server.js';
import { nameFromScript } from '../control/paths.js';
import type { ClusterReport } from '../control/protocol.js';
import { createDispatcher, type ListenError } from './dispatch.js';
import { Leadership } from './leadership.js';
import { ClusterMessaging } from './messaging.js';
import { NodeClusterBridge } from './node-cluster-bridge.js';
import { runPrimaryModules } from './primary-modules.js';
import { HealthMonitor, type RecycleReason } from '../supervision/health.js';
import { ListenerRegistry } from '../listeners/listener-registry.js';
import { MetricsCollector } from '../admin/metrics-collector.js';
import { workerLineFormat } from '../supervision/line-format.js';
import { relayTo } from '../supervision/output-relay.js';
import { getPolicy, type Policy } from '../listeners/policies/index.js';
import { spawnWorker } from '../supervision/spawn.js';
import { reloadOnChange } from '../supervision/watch.js';
import { Supervisor, type ShutdownReport } from '../supervision/supervisor.js';
import { WorkerProcess, type ExitInfo, type WorkerState } from '../supervision/worker-process.js';

export type { ListenError } from './dispatch.js';
export type { ShutdownReport } from '../supervision/supervisor.js';

/** What the API shows of a worker: a snapshot taken when it was asked for. */
export interface ClusterWorker {
  readonly id: number;
  /** Its place in the cluster, 0 to workers - 1, which a replacement takes over (the worker's CLUSTERIZE_WORKER_SLOT). */
  readonly slot: number;
  readonly pid: number | undefined;
  readonly state: WorkerState;
  /** The release it runs: 0 for the first, one more for each reload since. */
  readonly generation: number;
  readonly startedAt: number;
  readonly readyAt: number | undefined;
  /** Open connections the worker last reported, under every policy. */
  readonly connections: number;
  /** Resident memory in bytes at the last heartbeat. */
  readonly rss: number | undefined;
  /** Event-loop delay over the last heartbeat interval. */
  readonly loopDelay: LoopDelay | undefined;
  /** Its inspector was open at the last heartbeat: a debugger may pause it, and it is not killed as hung for that. */
  readonly inspector: boolean;
  /** Sends an application message; the worker receives it with process.on('message'). */
  send(message: unknown): boolean;
}

export interface ClusterEvents {
  fork: [worker: ClusterWorker];
  online: [worker: ClusterWorker];
  listening: [worker: ClusterWorker, address: Sockname | string];
  ready: [worker: ClusterWorker];
  exit: [worker: ClusterWorker, code: number | null, signal: NodeJS.Signals | null];
  message: [worker: ClusterWorker, message: unknown];
  /** A worker's listen() failed in the primary (EADDRINUSE, EACCES, ...); its server gets the same error. */
  listenError: [worker: ClusterWorker, error: ListenError];
  /** A worker is being replaced because it hung or outgrew maxMemory / maxAge. */
  recycle: [worker: ClusterWorker, reason: RecycleReason];
  /** A worker was elected leader of lead name `name` (its lead() job starts), in `term`. */
  lead: [worker: ClusterWorker, term: number, name: string];
}

/** Answers a worker's request(name, payload): what it returns (or resolves with) is the reply; what it throws, the worker's error. */
export type RequestHandler<N extends RequestName> = (payload: RequestPayload<N>, worker: ClusterWorker) => RequestReply<N> | Promise<RequestReply<N>>;

function snapshot(worker: WorkerProcess): ClusterWorker {
  return Object.freeze({
    id: worker.id,
    slot: worker.slot,
    pid: worker.pid,
    state: worker.state,
    generation: worker.generation,
    startedAt: worker.startedAt,
    readyAt: worker.readyAt,
    connections: worker.connections,
    rss: worker.rss,
    loopDelay: worker.loopDelay,
    inspector: worker.inspectorOpen,
    send: (message: unknown) => worker.send(message),
  });
}

/**
 * The primary's public face: options, events and operations. Forking, replacing and
 * retiring workers is the supervisor's job; protocol messages go through the dispatcher.
 */
export class Cluster extends EventEmitter<ClusterEvents> {
  private readonly policy: Policy;
  private readonly registry: ListenerRegistry;
  private readonly supervisor: Supervisor;
  private readonly health: HealthMonitor;
  private readonly dispatch: ReturnType<typeof createDispatcher>;
  private readonly stats = new ClusterStats();
  private readonly metricsCollector: MetricsCollector;
  private readonly messaging: ClusterMessaging<ClusterWorker>;
  private readonly leadership: Leadership;
  private readonly admin: AdminServer | undefined;
  private readonly control: ControlServer | undefined;
  readonly options: ResolvedOptions;
  /** node:cluster's view of the workers, for code written for it. */
  private readonly nodeCluster: NodeClusterBridge;
  private adminAt: AddressInfo | undefined;
  private startCalled = false;
  private startedAt = 0;
  /** How a stop asked over the control socket goes: SIGTERM's way once handleSignals() has taken the signals. */
  private stopOnRequest: () => void = () => void this.shutdown();
  /** Set by `withdraw()`: /readyz answers 503 while the cluster still serves. */
  private withdrawn = false;
  private readonly exitHooks: (() => unknown)[] = [];
  /** Stops the watch option's watching, once it has started. */
  private stopWatching: () => void = () => {};
  /** TLS session-ticket keys every worker's TLS servers share (48 bytes, as Node wants them). */
  private readonly ticketKeys = randomBytes(48).toString('hex');

  constructor(given: ResolvedOptions) {
    super();
    // Every log line of the primary's, whoever writes it, also reaches `clusterize logs`.
    const options: ResolvedOptions = { ...given, log: (line) => {
      given.log(line);
      this.control?.logLine(line);
    } };
    this.options = options;
    this.nodeCluster = new NodeClusterBridge((line) => this.options.log(line));
    this.policy = getPolicy(options.policy);
    this.policy.assertSupported?.();
    this.registry = new ListenerRegistry(this.policy, options, this.stats, (line) => this.options.log(line));
    this.supervisor = new Supervisor(options, this.registry, {
      launch: (id, slot, generation, holdOutput, onGone) => this.launch(id, slot, generation, holdOutput, onGone),
      fork: (worker) => this.announce('fork', snapshot(worker)),
      ready: (worker) => {
        this.health.watch(worker);
        this.announce('ready', snapshot(worker));
        this.leadership.review();
      },
      exit: (worker) => {
        // Not asked to leave, yet gone: it crashed (or never became ready in time).
        if (worker.leaving === undefined && this.supervisor.state === 'running') this.stats.restarted('crash');
        this.nodeCluster.exited(worker.id, worker.exit?.code ?? null, worker.exit?.signal ?? null);
        this.announce('exit', snapshot(worker), worker.exit?.code ?? null, worker.exit?.signal ?? null);
        this.leadership.exited(worker);
      },
      recycle: (worker, kind, detail) => {
        this.stats.restarted(kind);
        this.announce('recycle', snapshot(worker), { kind, detail });
      },
      forget: (worker) => {
        this.health.forget(worker);
        this.metricsCollector.forget(worker);
      },
    });
    this.metricsCollector = new MetricsCollector(options, () => this.supervisor.workers.values(), this.stats);
    this.messaging = new ClusterMessaging({
      workers: () => this.supervisor.workers.values(),
      snapshot,
      maxBytes: options.maxMessageSize * 1024 * 1024,
      log: (line) => this.options.log(line),
    });
    this.leadership = new Leadership({
      workers: () => this.supervisor.workers.values(),
      generation: () => this.supervisor.generation,
      elected: (worker, name, term) => {
        this.options.log(`clusterize: ${worker.label} leads '${name}' (term ${term})`);
        this.announce('lead', snapshot(worker), term, name);
      },
    });
    this.admin = options.admin === undefined ? undefined : new AdminServer({
      metrics: () => this.metrics(),
      ready: () => this.running && !this.withdrawn && [...this.supervisor.workers.values()].some((worker) => worker.routable && worker.leaving === undefined),
      workers: () => [...this.supervisor.workers.values()].map(reportOf),
    }, options.log);
    this.control = options.control === undefined ? undefined : new ControlServer({
      report: () => this.report(),
      reload: () => this.reloadAsked('clusterize reload received'),
      scale: (count) => {
        options.log(`clusterize: clusterize scale received; scaling from ${this.supervisor.target} to ${count} worker${count === 1 ? '' : 's'}`);
        return this.scale(count);
      },
      stop: () => this.stopOnRequest(),
    }, { name: options.control.name ?? nameFromScript(options.script), path: options.control.path }, options.log);
    this.health = new HealthMonitor(options, () => this.supervisor.workers.values(), {
      hung: (worker, detail) => this.supervisor.hung(worker, detail),
      outgrown: (worker, kind, detail) => this.supervisor.recycle(worker, kind, detail),
    });
    this.dispatch = createDispatcher({
      policy: this.policy,
      registry: this.registry,
      supervisor: this.supervisor,
      health: this.health,
      metrics: this.metricsCollector,
      messaging: this.messaging as ClusterMessaging<unknown>,
      leadership: this.leadership,
      ticketKeys: this.ticketKeys,
      events: {
        online: (worker) => this.announce('online', snapshot(worker)),
        listening: (worker, address) => this.announce('listening', snapshot(worker), address),
        listenError: (worker, error) => this.announce('listenError', snapshot(worker), error),
      },
      log: (line) => this.options.log(line),
    });
  }

  /**
   * Runs the primary's modules, then forks the workers; resolves once every one of them is
   * ready, rejects (START_FAILED) if a module fails or the workers cannot start.
   */
  start(): Promise<void> {
    if (this.startCalled) throw clusterizeError('ERR_CLUSTERIZE_ALREADY_STARTED', 'start() was already called');
    this.startCalled = true;
    const { primaryModules, log } = this.options;
    // A shutdown while the modules ran leaves nothing to fork: start() resolves, as on a shutdown during start-up.
    const started = primaryModules.length === 0 ? this.forkWorkers()
      : runPrimaryModules(primaryModules, this, log).then(() => (this.supervisor.state === 'idle' ? this.forkWorkers() : undefined));
    return started.then(() => this.watchFiles());
  }

  /** With the watch option, once the workers are ready: a change reloads them (reloadOnChange). */
  private watchFiles(): void {
    const { watch, script } = this.options;
    const paths = watch === true ? [dirname(script)] : watch;
    if (paths.length > 0 && this.running) this.stopWatching = reloadOnChange(this, paths);
  }

  private async forkWorkers(): Promise<void> {
    this.startedAt = Date.now();
    this.health.start();
    try {
      // The admin port and the control socket first: one that is taken stops the start before any worker is forked.
      await this.listenAdmin();
      const path = await this.control?.listen();
      if (path !== undefined) this.options.log(`clusterize: control socket ${path} (clusterize ls, status, reload, scale, stop, logs)`);
    } catch (error) {
      this.health.stop();
      throw error;
    }
    return this.supervisor.start();
  }

  private async listenAdmin(): Promise<void> {
    if (this.admin === undefined) return;
    const { port, host } = this.options.admin!;
    const address = await this.admin.listen(port, host);
    this.adminAt = address;
    const where = address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
    this.options.log(`clusterize: admin server on http://${where} (/metrics /livez /readyz /workers)`);
  }

  /** Where the admin server listens, once it does; null when it is off. */
  adminAddress(): AddressInfo | null {
    return this.adminAt ?? null;
  }

  /** The control socket's path, once it listens; null when it is off. */
  controlPath(): string | null {
    return this.control?.path ?? null;
  }

  /**
   * The cluster's metrics in the Prometheus text format: every worker's prom-client
   * registry aggregated (a worker that does not answer within metricsTimeout is left out),
   * then clusterize's own metrics. What the admin server's /metrics serves.
   */
  metrics(): Promise<string> {
    return this.metricsCollector.text();
  }

  /** A snapshot of every worker alive now. */
  get workers(): ClusterWorker[] {
    return [...this.supervisor.workers.values()].map(snapshot);
  }

  get running(): boolean {
    return this.supervisor.state === 'running';
  }

  /** The address of the first port the workers listen on, once one does. */
  address(): Sockname | string | null {
    for (const listener of this.registry.all()) return listener.sockname ?? listener.query.address;
    return null;
  }

  /**
   * Sends `data` (JSON, at most maxMessageSize) to every subscriber of `topic`: in every
   * worker and in this primary (see the worker's publish()). Throws a coded TypeError for
   * data JSON cannot carry, a RangeError when it is too large.
   */
  publish<T extends Topic>(topic: T, data: TopicData<T>): void {
    this.messaging.publish(topic, data);
  }

  /**
   * Calls `handler` in the primary with the data of every publish to `topic`, a worker's or
   * its own, from now on; returns the function that unsubscribes. A handler that throws is logged.
   */
  subscribe<T extends Topic>(topic: T, handler: Subscriber<T>): () => void {
    return this.messaging.subscribe(topic, handler as (data: unknown, from: number | 'primary') => void);
  }

  /**
   * Answers the workers' request(name, payload) with `handler`, one per name; returns the
   * function that removes it. What it throws or rejects with reaches the worker as
   * ERR_CLUSTERIZE_HANDLER_FAILED, its message included.
   */
  handle<N extends RequestName>(name: N, handler: RequestHandler<N>): () => void {
    return this.messaging.handle(name, handler as (payload: unknown, worker: ClusterWorker) => unknown);
  }

  /** The worker that leads `name` now (elected, its job not yet ended), if any. */
  leader(name: string = DEFAULT_LEAD): ClusterWorker | undefined {
    const id = this.leadership.holder(name);
    const worker = id === undefined ? undefined : this.supervisor.workers.get(id);
    return worker === undefined ? undefined : snapshot(worker);
  }

  broadcast(message: unknown): void {
    for (const worker of this.supervisor.workers.values()) if (worker.leaving === undefined) worker.send(message);
  }

  /**
   * Replaces every worker, `maxSurge` at a time: starts a new one, waits until it is ready,
   * stops routing to an old one and drains it. A reload asked for during a reload replaces
   * the workers the first one started too, so every worker ends up at least as new as the
   * last request. If a new worker exits or is not ready in time, the reload stops, the old
   * workers keep serving, and the promise rejects with ERR_CLUSTERIZE_RELOAD_FAILED naming
   * the worker, how it ended and its last output. Resolves when every old worker has exited.
   */
  reload(): Promise<void> {
    this.assertRunning('reload');
    const done = this.supervisor.reload();
    done.then(() => this.stats.reloaded('success'), (error: unknown) => {
      this.stats.reloaded(isClusterizeError(error) && error.code === 'ERR_CLUSTERIZE_NOT_RUNNING' ? 'cancelled' : 'failure');
    });
    return done;
  }

  /**
   * Runs `count` workers from now on: new ones are started, extra ones drained. Resolves
   * once exactly `count` workers of the current release serve and no other is left;
   * during a reload that is when both are done.
   */
  scale(count: number): Promise<void> {
    this.assertRunning('scale');
    let target: number;
    try {
      // A wrong type is a TypeError, a number out of range a RangeError, as for `workers`.
      target = validateWorkerCount(count, 'scale() count');
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.supervisor.scale(target);
  }

  /**
   * Makes /readyz answer 503 from now on while the workers keep accepting and serving: the
   * first step of a signal-driven shutdown with shutdownDelay, so that load balancers stop
   * sending before the listeners close.
   * @internal
   */
  withdraw(): void {
    this.withdrawn = true;
    this.stopWatching();
    this.supervisor.stopForking();
  }

  /**
   * Stops accepting, lets every worker finish its in-flight requests for up to
   * shutdownTimeout, kills what is left, and resolves when every worker has exited, with
   * what the deadline cut (connections closed by the workers, workers killed).
   * Operations still waiting reject with ERR_CLUSTERIZE_NOT_RUNNING. Each worker's app
   * gets it as a SIGTERM (`signal`: SIGINT, for a Ctrl-C): its own listeners run.
   */
  shutdown(signal: 'SIGINT' | 'SIGTERM' = 'SIGTERM'): Promise<ShutdownReport> {
    this.health.stop();
    this.stopWatching();
    // The admin server and the control socket answer until the workers are gone: /readyz says 503 while they drain.
    return this.supervisor.shutdown(signal).then(async (report) => {
      await Promise.all([this.admin?.close(), this.control?.close(report)]);
      return report;
    });
  }

  /**
   * Makes a stop asked over the control socket (`clusterize stop`) take `stop`, the path
   * SIGTERM takes; without it such a stop is a shutdown().
   * @internal
   */
  handleStopRequests(stop: () => void): void {
    this.stopOnRequest = stop;
  }

  /**
   * A reload an operator asked for (a signal, `clusterize reload`): logged as it begins and
   * once it is complete; a failure is logged by the reload itself.
   * @internal
   */
  reloadAsked(by: string): Promise<void> {
    const { maxSurge, log } = this.options;
    const done = this.reload();
    log(`clusterize: ${by}; reloading workers ${maxSurge === 1 ? 'one by one' : `${maxSurge} at a time`}`);
    return done.then(() => log('clusterize: reload complete'));
  }

  /** What `clusterize status` and `ls` show of the cluster. */
  private report(): ClusterReport {
    return {
      name: this.control!.name,
      pid: process.pid,
      policy: this.options.policy,
      state: this.withdrawn ? 'stopping' : this.supervisor.state,
      startedAt: this.startedAt,
      target: this.supervisor.target,
      reloads: this.stats.reloads.get('success')!,
      workers: [...this.supervisor.workers.values()].map(reportOf),
    };
  }

  /**
   * Runs before the primary exits on SIGTERM/SIGINT, after every worker has exited: where a
   * framework in the primary closes (Fastify's onClose hooks) and primary-side resources go.
   */
  beforeExit(hook: () => unknown): void {
    this.exitHooks.push(hook);
  }

  /** Runs the beforeExit hooks, each bounded by shutdownTimeout; errors are logged. */
  async runExitHooks(): Promise<void> {
    await Promise.all(this.exitHooks.map(async (hook) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.options.log(`clusterize: a beforeExit hook did not finish within ${this.options.shutdownTimeout} ms`);
          resolve();
        }, this.options.shutdownTimeout);
      });
      try {
        await Promise.race([hook(), timeout]);
      } catch (error) {
        this.options.log(`clusterize: a beforeExit hook failed: ${(error as Error)?.stack ?? String(error)}`);
      } finally {
        clearTimeout(timer);
      }
    }));
  }

  /** Kills every worker at once (a second Ctrl-C). */
  kill(): void {
    this.supervisor.kill();
  }

  private assertRunning(what: string): void {
    // During a shutdown delay the cluster still serves, but forks nothing more.
    const state = this.withdrawn && this.running ? 'stopping' : this.supervisor.state;
    if (state !== 'running') throw clusterizeError('ERR_CLUSTERIZE_NOT_RUNNING', `${what}() was called while the cluster is ${state}`);
  }

  /** Emits a public event; an application listener that throws is logged and never breaks the runtime. */
  private announce<K extends keyof ClusterEvents>(event: K, ...args: ClusterEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: ClusterEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.options.log(`clusterize: a '${event}' listener threw: ${(error as Error)?.stack ?? String(error)}`);
    }
  }

  private launch(id: number, slot: number, generation: number, holdOutput: boolean, onGone: (worker: WorkerProcess, exit: ExitInfo) => void): WorkerProcess {
    // 64 random bits: unguessable by the app, short enough to cost nothing on every message.
    const token = randomBytes(8).toString('hex');
    const child = spawnWorker(this.options, id, slot, token);
    const worker = new WorkerProcess(id, slot, child, token, generation);
    const record = (chunk: Buffer) => worker.output.record(chunk);
    const format = (to: NodeJS.WriteStream, stream: 'stdout' | 'stderr') => workerLineFormat(this.options, to, { id, slot, pid: child.pid ?? 0, stream });
    worker.relaysOutputThrough([
      relayTo(process.stdout).add(child.stdout, record, holdOutput, format(process.stdout, 'stdout')),
      relayTo(process.stderr).add(child.stderr, record, holdOutput, format(process.stderr, 'stderr')),
    ]);
    onInternalMessage(child, (message, handle) => this.dispatch(worker, message, handle));
    child.on('message', (message: unknown) => this.announce('message', snapshot(worker), message));
    this.nodeCluster.forked(id, child);
    child.on('error', (error) => {
      if (child.pid !== undefined) return this.options.log(`clusterize: worker ${id}: ${error.message}`);
      // The spawn itself failed (EMFILE, EAGAIN): there is no process and no 'exit' will come.
      worker.couldNotStart(error.message);
      onGone(worker, { code: null, signal: null });
    });
    child.once('exit', (code, signal) => {
      // Its one line naming the missing Node.js internal may still be in the pipe: read it first.
      if (code === EXIT_NODE_INTERNALS) child.once('close', () => onGone(worker, { code, signal }));
      else onGone(worker, { code, signal });
    });
    return worker;
  }
}
