import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { getSystemErrorName } from 'node:util';
import { isOurs, verifyWorkerMessage, type Act, type ListenQuery, type LoopDelay, type MessageOf, type Sockname, type WorkerMessage } from '../protocol.js';
import { clusterizeError, clusterizeRangeError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import { Backoff } from './backoff.js';
import { workerExecArgv } from './exec-argv.js';
import { ForwardingListener } from './forwarding-listener.js';
import { HealthMonitor, type RecycleReason } from './health.js';
import { ListenerRegistry } from './listener-registry.js';
import { getPolicy, type Policy } from './policies/index.js';
import { WorkerProcess, type WorkerState } from './worker-process.js';

/** What the API shows of a worker. */
export interface ClusterWorker {
  readonly id: number;
  readonly pid: number | undefined;
  readonly state: WorkerState;
  readonly startedAt: number;
  readonly readyAt: number | undefined;
  /** Open connections the worker last reported (forwarding policies only). */
  readonly connections: number;
  /** Resident memory in bytes at the last heartbeat. */
  readonly rss: number | undefined;
  /** Event-loop delay over the last heartbeat interval. */
  readonly loopDelay: LoopDelay | undefined;
  /** Sends an application message; the worker receives it with process.on('message'). */
  send(message: unknown): boolean;
}

export interface ListenError {
  code: string;
  address: string | null;
  port: number;
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
}

type ClusterState = 'idle' | 'running' | 'stopping' | 'stopped';

type Handlers = {
  [A in Act<WorkerMessage>]: (worker: WorkerProcess, message: MessageOf<WorkerMessage, A>, handle: unknown) => void;
};

/** Grace after shutdownTimeout for a worker to act on its own timeout before SIGKILL. */
const KILL_GRACE_MS = 1_000;
const OUTPUT_LINES_IN_REPORT = 10;

/**
 * The primary: forks workers, binds the ports their servers ask for, routes connections
 * to ready workers, replaces crashed, hung and outgrown workers, reloads and scales
 * without dropping connections, and drives graceful shutdown.
 */
export class Cluster extends EventEmitter<ClusterEvents> {
  private state: ClusterState = 'idle';
  private readonly processes = new Map<number, WorkerProcess>();
  private readonly policy: Policy;
  private readonly registry: ListenerRegistry;
  private readonly backoff: Backoff;
  private readonly health: HealthMonitor;
  private readonly restarts = new Set<NodeJS.Timeout>();
  private nextId = 0;
  private target: number;
  private stopped: Promise<void> | undefined;
  private reloading: Promise<void> | undefined;
  private firstReady = Promise.withResolvers<void>();
  private readonly exitHooks: (() => unknown)[] = [];
  /** TLS session-ticket keys every worker's TLS servers share (48 bytes, as Node wants them). */
  private readonly ticketKeys = randomBytes(48).toString('hex');

  constructor(readonly options: ResolvedOptions) {
    super();
    this.policy = getPolicy(options.policy);
    this.policy.assertSupported?.();
    this.registry = new ListenerRegistry(this.policy);
    this.backoff = new Backoff(options.restartDelay, options.maxRestartDelay);
    this.health = new HealthMonitor(options, () => this.live(), (worker, reason) => this.recycle(worker, reason));
    this.target = options.workers;
  }

  /** Forks the workers; resolves once every one of them is ready. */
  start(): Promise<void> {
    if (this.state !== 'idle') throw clusterizeError('ERR_CLUSTERIZE_ALREADY_STARTED', 'start() was already called');
    this.state = 'running';
    for (let i = 0; i < this.target; i++) this.fork();
    this.health.start();
    return this.firstReady.promise;
  }

  get workers(): ClusterWorker[] {
    return [...this.processes.values()];
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** The address of the first port the workers listen on, once one does. */
  address(): Sockname | string | null {
    for (const listener of this.registry.all()) return listener.sockname ?? listener.query.address;
    return null;
  }

  broadcast(message: unknown): void {
    for (const worker of this.live()) worker.send(message);
  }

  /**
   * Replaces every worker, `maxSurge` at a time: starts the new one, waits until it is
   * ready, stops routing to the old one and drains it. If a new worker crashes or is not
   * ready in time, the reload stops, the old workers keep serving, and the promise rejects
   * with ERR_CLUSTERIZE_RELOAD_FAILED naming the worker, how it ended and its last output.
   * Resolves when every old worker has exited.
   */
  reload(): Promise<void> {
    this.assertRunning('reload');
    this.reloading ??= this.rollingReload().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  /** Runs `count` workers from now on: new ones are started, extra ones drained. */
  async scale(count: number): Promise<void> {
    this.assertRunning('scale');
    if (!Number.isInteger(count) || count < 1 || count > 1024) {
      throw clusterizeRangeError('ERR_CLUSTERIZE_INVALID_WORKERS', `scale() takes an integer from 1 to 1024, got ${count}`);
    }
    this.target = count;
    const serving = this.serving();
    if (count > serving.length) {
      const fresh = Array.from({ length: count - serving.length }, () => this.fork());
      await Promise.all(fresh.map((worker) => this.whenReady(worker)));
    } else {
      await Promise.all(serving.slice(count).map((worker) => this.stopWorker(worker)));
    }
  }

  /**
   * Stops accepting, lets every worker finish its in-flight requests for up to
   * shutdownTimeout, kills what is left, and resolves when every worker has exited.
   */
  shutdown(): Promise<void> {
    if (this.stopped !== undefined) return this.stopped;
    this.state = 'stopping';
    this.health.stop();
    for (const timer of this.restarts) clearTimeout(timer);
    this.restarts.clear();
    for (const listener of this.registry.all()) listener.close();
    this.stopped = Promise.all(this.live().map((worker) => this.stopWorker(worker))).then(() => {
      this.registry.closeAll();
      this.state = 'stopped';
      this.firstReady.resolve();
    });
    return this.stopped;
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
    for (const worker of this.processes.values()) worker.kill('SIGKILL');
  }

  private assertRunning(what: string): void {
    if (this.state !== 'running') throw clusterizeError('ERR_CLUSTERIZE_NOT_RUNNING', `${what}() needs a running cluster; it is ${this.state}`);
  }

  private live(): WorkerProcess[] {
    return [...this.processes.values()].filter((worker) => worker.alive);
  }

  /** Live workers that are not on their way out. */
  private serving(): WorkerProcess[] {
    return this.live().filter((worker) => worker.state !== 'draining');
  }

  private fork(): WorkerProcess {
    const id = ++this.nextId;
    // 64 random bits: unguessable by the app, short enough to cost nothing on every message.
    const token = randomBytes(8).toString('hex');
    const child = fork(this.options.script, [...this.options.args], {
      execArgv: workerExecArgv(this.options.execArgv, id),
      env: {
        ...process.env,
        ...this.options.env,
        CLUSTERIZE_WORKER_ID: String(id),
        CLUSTERIZE_TOKEN: token,
        CLUSTERIZE_SHUTDOWN_TIMEOUT: String(this.options.shutdownTimeout),
      },
      stdio: ['inherit', 'pipe', 'pipe', 'ipc'],
    });
    const worker = new WorkerProcess(id, child, token);
    this.processes.set(id, worker);
    worker.output.pipe(child.stdout, process.stdout);
    worker.output.pipe(child.stderr, process.stderr);
    child.on('internalMessage', (message: unknown, handle: unknown) => this.receive(worker, message, handle));
    child.on('message', (message: unknown) => this.emit('message', worker, message));
    child.on('error', (error) => this.options.log(`clusterize: worker ${id}: ${error.message}`));
    child.once('exit', (code, signal) => this.onExit(worker, code, signal));
    worker.readyTimer = setTimeout(() => this.onReadyTimeout(worker), this.options.readyTimeout);
    this.emit('fork', worker);
    return worker;
  }

  private receive(worker: WorkerProcess, message: unknown, handle: unknown): void {
    if (!isOurs(message)) return;
    const verdict = verifyWorkerMessage(message, worker.token);
    if (!verdict.ok) {
      this.options.log(`clusterize: ignored a message from worker ${worker.id} (pid ${worker.pid}): ${verdict.reason}`);
      return;
    }
    try {
      const handler = this.handlers[verdict.message.act] as (w: WorkerProcess, m: WorkerMessage, h: unknown) => void;
      handler(worker, verdict.message, handle);
    } catch (error) {
      this.options.log(`clusterize: error handling '${verdict.message.act}' from worker ${worker.id}: ${(error as Error).stack}`);
    }
  }

  private readonly handlers: Handlers = {
    hello: (worker) => {
      if (worker.state !== 'starting') return;
      worker.state = 'online';
      this.emit('online', worker);
    },
    listen: (worker, { seq, query }) => {
      const acquired = this.registry.acquire(worker, query);
      const listener = acquired.listener;
      worker.post({
        act: 'listening', seq, errno: acquired.errno, key: listener?.key ?? '',
        transport: listener?.transport ?? this.policy.transport, sockname: listener?.sockname ?? null,
        reportLoad: listener?.transport === 'forward' && this.policy.reportsLoad === true,
        ticketKeys: this.ticketKeys,
      }, listener?.handleForListen());
      if (listener === undefined) return this.listenFailed(worker, query, acquired.errno);
      if (worker.state === 'online' || worker.state === 'starting') worker.state = 'listening';
      this.emit('listening', worker, listener.sockname ?? query.address ?? '');
      if (worker.routable) listener.route(worker);
    },
    unlisten: (worker, { key }) => this.registry.release(worker, key),
    listenFailed: (worker, { key, errno }) => {
      const query = this.registry.get(key)?.query;
      this.registry.release(worker, key);
      if (query !== undefined) this.listenFailed(worker, query, errno);
    },
    ready: (worker) => {
      if (worker.state !== 'listening' && worker.state !== 'online') return;
      worker.state = 'ready';
      worker.lastPong = Date.now();
      for (const key of worker.keys) {
        const listener = this.registry.get(key);
        if (listener === undefined) continue;
        // A worker that accepts on its own copy of the socket is ready once it says it accepts.
        if (listener.transport !== 'forward') worker.awaitingAccept.add(key);
        listener.route(worker);
      }
      if (worker.awaitingAccept.size === 0) this.announceReady(worker);
    },
    accepting: (worker, { key }) => {
      if (!worker.awaitingAccept.delete(key) || worker.awaitingAccept.size > 0 || worker.state !== 'ready') return;
      this.announceReady(worker);
    },
    acks: (worker, { accepted, refused, connections }) => {
      worker.connections = connections;
      for (const id of accepted) {
        const handoff = worker.pendingHandoffs.get(id);
        if (handoff === undefined) continue;
        worker.pendingHandoffs.delete(id);
        handoff.client.close();
      }
      for (const id of refused) this.redispatch(worker, id);
      for (const key of worker.keys) this.registry.get(key)?.flush();
    },
    draining: (worker) => this.beginDrain(worker),
    pong: (worker, { rss, delay }) => {
      worker.lastPong = Date.now();
      worker.rss = rss;
      worker.loopDelay = delay;
    },
  };

  private listenFailed(worker: WorkerProcess, query: ListenQuery, errno: number): void {
    const error = { code: getSystemErrorName(errno), address: query.address, port: query.port };
    this.options.log(`clusterize: worker ${worker.id} could not listen on ${describeAddress(query)}: ${error.code}`);
    this.emit('listenError', worker, error);
  }

  private announceReady(worker: WorkerProcess): void {
    worker.readyAt = Date.now();
    clearTimeout(worker.readyTimer);
    this.emit('ready', worker);
    if (this.live().filter((w) => w.readyAt !== undefined).length >= this.target) this.firstReady.resolve();
  }

  private redispatch(worker: WorkerProcess, id: number): void {
    const handoff = worker.pendingHandoffs.get(id);
    if (handoff === undefined) return;
    worker.pendingHandoffs.delete(id);
    const listener = this.registry.get(handoff.key);
    if (listener instanceof ForwardingListener) listener.retry(handoff.client);
    else handoff.client.close();
  }

  private beginDrain(worker: WorkerProcess): void {
    if (!worker.alive || worker.state === 'draining') return;
    worker.state = 'draining';
    for (const key of worker.keys) this.registry.get(key)?.unroute(worker);
  }

  /** Tells the worker to drain, and kills it if it has not exited by the deadline. */
  private stopWorker(worker: WorkerProcess, { graceful = true } = {}): Promise<void> {
    worker.stopRequested = true;
    const exited = this.whenExited(worker);
    if (!worker.alive) return exited;
    this.beginDrain(worker);
    if (!graceful || !worker.post({ act: 'drain', timeout: this.options.shutdownTimeout })) {
      worker.kill('SIGKILL');
      return exited;
    }
    const deadline = setTimeout(() => {
      this.options.log(`clusterize: worker ${worker.id} (pid ${worker.pid}) did not finish within ${this.options.shutdownTimeout} ms; killing it`);
      worker.kill('SIGKILL');
    }, this.options.shutdownTimeout + KILL_GRACE_MS);
    return exited.finally(() => clearTimeout(deadline));
  }

  private whenExited(worker: WorkerProcess): Promise<void> {
    return new Promise((resolve) => {
      if (!worker.alive) resolve();
      else worker.child.once('exit', () => resolve());
    });
  }

  /** Resolves when the worker is ready; rejects (RELOAD_FAILED) if it ends before. */
  private whenReady(worker: WorkerProcess): Promise<void> {
    return new Promise((resolve, reject) => {
      const onReady = (ready: ClusterWorker) => {
        if (ready !== worker) return;
        this.off('ready', onReady);
        resolve();
      };
      this.on('ready', onReady);
      worker.child.once('exit', () => {
        this.off('ready', onReady);
        const lines = worker.output.last(OUTPUT_LINES_IN_REPORT);
        const output = lines.length === 0 ? ' It printed nothing.' : ` Its last output:\n  ${lines.join('\n  ')}`;
        reject(clusterizeError('ERR_CLUSTERIZE_RELOAD_FAILED',
          `new worker ${worker.id} (pid ${worker.pid}) ${worker.describeExit()} before it was ready; the old workers keep serving.${output}`));
      });
    });
  }

  private async rollingReload(): Promise<void> {
    const old = this.serving();
    const draining: Promise<void>[] = [];
    for (let i = 0; i < old.length; i += this.options.maxSurge) {
      const batch = old.slice(i, i + this.options.maxSurge).filter((worker) => worker.alive);
      const fresh = batch.map(() => this.fork());
      const results = await Promise.allSettled(fresh.map((worker) => this.whenReady(worker)));
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed !== undefined || this.state !== 'running') {
        await Promise.all(fresh.map((worker) => this.stopWorker(worker, { graceful: worker.state === 'ready' })));
        if (failed !== undefined) this.options.log(`clusterize: reload stopped: ${(failed.reason as Error).message}`);
        throw failed?.reason ?? clusterizeError('ERR_CLUSTERIZE_NOT_RUNNING', 'the cluster stopped during the reload');
      }
      draining.push(...batch.map((worker) => this.stopWorker(worker)));
    }
    await Promise.all(draining);
  }

  /** Starts a replacement first; once it is ready the old worker is drained (or killed if hung). */
  private async recycle(worker: WorkerProcess, reason: RecycleReason): Promise<void> {
    if (worker.replacing || !worker.alive || this.state !== 'running') return;
    worker.replacing = true;
    this.options.log(`clusterize: worker ${worker.id} (pid ${worker.pid}) ${reason.detail}; replacing it`);
    this.emit('recycle', worker, reason);
    if (reason.kind === 'hung') {
      // It cannot drain with a blocked event loop: route around it now, kill it when the new one is ready.
      worker.failure = `was killed: ${reason.detail}`;
      this.beginDrain(worker);
    }
    const fresh = this.fork();
    try {
      await this.whenReady(fresh);
    } catch (error) {
      this.options.log(`clusterize: replacement for worker ${worker.id} failed: ${(error as Error).message}`);
      // A worker that is merely old or large keeps serving rather than leave a gap.
      if (reason.kind !== 'hung') return;
    }
    await this.stopWorker(worker, { graceful: reason.kind !== 'hung' });
  }

  private onReadyTimeout(worker: WorkerProcess): void {
    if (!worker.alive || worker.readyAt !== undefined || worker.state === 'draining') return;
    worker.failure = `was not ready within ${this.options.readyTimeout} ms`;
    this.options.log(`clusterize: worker ${worker.id} (pid ${worker.pid}) ${worker.failure}; killing it`);
    worker.kill('SIGKILL');
  }

  private onExit(worker: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const readyAt = worker.readyAt;
    clearTimeout(worker.readyTimer);
    worker.state = 'exited';
    worker.exitCode = code;
    worker.signalCode = signal;
    this.registry.forget(worker);
    for (const id of [...worker.pendingHandoffs.keys()]) this.redispatch(worker, id);
    this.processes.delete(worker.id);
    this.emit('exit', worker, code, signal);
    if (this.state !== 'running' || worker.stopRequested) return;
    // A worker that is not needed any more (a failed reload candidate, after a scale-down) is not replaced.
    if (this.serving().length + this.restarts.size >= this.target) {
      this.options.log(`clusterize: worker ${worker.id} (pid ${worker.pid}) ${worker.describeExit()}`);
      return;
    }
    const delay = this.backoff.next(readyAt === undefined ? undefined : Date.now() - readyAt);
    const inARow = this.backoff.crashesInARow > 1 ? ` (${this.backoff.crashesInARow} crashes in a row)` : '';
    this.options.log(`clusterize: worker ${worker.id} (pid ${worker.pid}) ${worker.describeExit()}; starting a replacement in ${delay} ms${inARow}`);
    const timer = setTimeout(() => {
      this.restarts.delete(timer);
      if (this.state === 'running') this.fork();
    }, delay);
    this.restarts.add(timer);
  }
}

function describeAddress(query: ListenQuery): string {
  if (query.port === -1) return String(query.address);
  return query.addressType === 6 ? `[${query.address}]:${query.port}` : `${query.address ?? '*'}:${query.port}`;
}
