import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { getSystemErrorName } from 'node:util';
import { EventEmitter } from 'node:events';
import { isOurs, verifyWorkerMessage, type Act, type ListenQuery, type MessageOf, type Sockname, type WorkerMessage } from '../protocol.js';
import { clusterizeError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import { Backoff } from './backoff.js';
import { workerExecArgv } from './exec-argv.js';
import { ListenerRegistry } from './listener-registry.js';
import { ForwardingListener } from './forwarding-listener.js';
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
  /** A worker's listen() failed in the primary (EADDRINUSE, EACCES, ...); the worker's server gets the same error. */
  listenError: [worker: ClusterWorker, error: ListenError];
}

export interface ListenError {
  code: string;
  address: string | null;
  port: number;
}

type ClusterState = 'idle' | 'running' | 'stopping' | 'stopped';

type Handlers = {
  [A in Act<WorkerMessage>]: (worker: WorkerProcess, message: MessageOf<WorkerMessage, A>, handle: unknown) => void;
};

/** Grace after shutdownTimeout for a worker to act on its own timeout before SIGKILL. */
const KILL_GRACE_MS = 1_000;

/**
 * The primary: forks workers, binds the ports their servers ask for, routes connections
 * to ready workers, replaces crashed workers with backoff and drives graceful shutdown.
 */
export class Cluster extends EventEmitter<ClusterEvents> {
  private state: ClusterState = 'idle';
  private readonly processes = new Map<number, WorkerProcess>();
  private readonly policy: Policy;
  private readonly registry: ListenerRegistry;
  private readonly backoff: Backoff;
  private readonly restarts = new Set<NodeJS.Timeout>();
  private nextId = 0;
  private stopped: Promise<void> | undefined;
  private firstReady: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(readonly options: ResolvedOptions) {
    super();
    this.policy = getPolicy(options.policy);
    this.policy.assertSupported?.();
    this.registry = new ListenerRegistry(this.policy);
    this.backoff = new Backoff(options.restartDelay, options.maxRestartDelay);
  }

  /** Forks the workers; resolves once every one of them is ready. */
  start(): Promise<void> {
    if (this.state !== 'idle') throw clusterizeError('ERR_CLUSTERIZE_ALREADY_STARTED', 'start() was already called');
    this.state = 'running';
    const { promise, resolve } = Promise.withResolvers<void>();
    this.firstReady = { promise, resolve };
    for (let i = 0; i < this.options.workers; i++) this.fork();
    return promise;
  }

  get workers(): ClusterWorker[] {
    return [...this.processes.values()];
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** The address of the first port the workers listen on, once one does. */
  address(): Sockname | string | null {
    for (const listener of this.registry.all()) return listener.sockname ?? listener.key.split(':')[0] ?? null;
    return null;
  }

  broadcast(message: unknown): void {
    for (const worker of this.live()) worker.send(message);
  }

  /**
   * Stops accepting, lets every worker finish its in-flight requests for up to
   * shutdownTimeout, kills what is left, and resolves when every worker has exited.
   */
  shutdown(): Promise<void> {
    if (this.stopped !== undefined) return this.stopped;
    this.state = 'stopping';
    for (const timer of this.restarts) clearTimeout(timer);
    this.restarts.clear();
    for (const listener of this.registry.all()) listener.close();
    this.stopped = this.drainAll().then(() => {
      this.registry.closeAll();
      this.state = 'stopped';
      this.firstReady?.resolve();
    });
    return this.stopped;
  }

  /** Kills every worker at once (a second Ctrl-C). */
  kill(): void {
    for (const worker of this.processes.values()) worker.kill('SIGKILL');
  }

  private live(): WorkerProcess[] {
    return [...this.processes.values()].filter((worker) => worker.alive);
  }

  private fork(): WorkerProcess {
    const id = ++this.nextId;
    const token = randomBytes(16).toString('hex');
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
      this.options.log(`clusterize: ignored a message from worker ${worker.id} (pid ${worker.pid}): ${verdict.reason}`)
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
      });
      if (listener === undefined) {
        const error = { code: getSystemErrorName(acquired.errno), address: query.address, port: query.port };
        this.options.log(`clusterize: worker ${worker.id} could not listen on ${describeAddress(query)}: ${error.code}`);
        this.emit('listenError', worker, error);
        return;
      }
      if (worker.state === 'online' || worker.state === 'starting') worker.state = 'listening';
      this.emit('listening', worker, listener.sockname ?? query.address ?? '');
      if (worker.routable) listener.route(worker);
    },
    unlisten: (worker, { key }) => this.registry.release(worker, key),
    ready: (worker) => {
      if (worker.state !== 'listening' && worker.state !== 'online') return;
      worker.state = 'ready';
      worker.readyAt = Date.now();
      clearTimeout(worker.readyTimer);
      for (const key of worker.keys) this.registry.get(key)?.route(worker);
      this.emit('ready', worker);
      if (this.live().filter((w) => w.state === 'ready').length >= this.options.workers) this.firstReady?.resolve();
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
  };

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
  private stopWorker(worker: WorkerProcess): Promise<void> {
    worker.stopRequested = true;
    const exited = new Promise<void>((resolve) => {
      if (!worker.alive) resolve();
      else worker.child.once('exit', () => resolve());
    });
    if (!worker.alive) return exited;
    this.beginDrain(worker);
    if (!worker.post({ act: 'drain', timeout: this.options.shutdownTimeout })) worker.kill('SIGKILL');
    const deadline = setTimeout(() => {
      this.options.log(`clusterize: worker ${worker.id} (pid ${worker.pid}) did not finish within ${this.options.shutdownTimeout} ms; killing it`);
      worker.kill('SIGKILL');
    }, this.options.shutdownTimeout + KILL_GRACE_MS);
    return exited.finally(() => clearTimeout(deadline));
  }

  private async drainAll(): Promise<void> {
    await Promise.all(this.live().map((worker) => this.stopWorker(worker)));
  }

  private onReadyTimeout(worker: WorkerProcess): void {
    if (!worker.alive || worker.state === 'ready' || worker.state === 'draining') return;
    this.options.log(`clusterize: worker ${worker.id} (pid ${worker.pid}) was not ready within ${this.options.readyTimeout} ms; replacing it`);
    worker.kill('SIGKILL');
  }

  private onExit(worker: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const wasReady = worker.readyAt;
    clearTimeout(worker.readyTimer);
    worker.state = 'exited';
    worker.exitCode = code;
    worker.signalCode = signal;
    this.registry.forget(worker);
    for (const id of [...worker.pendingHandoffs.keys()]) this.redispatch(worker, id);
    this.processes.delete(worker.id);
    this.emit('exit', worker, code, signal);
    if (this.state !== 'running' || worker.stopRequested) return;
    const delay = this.backoff.next(wasReady === undefined ? undefined : Date.now() - wasReady);
    const how = signal === null ? `code ${code}` : `signal ${signal}`;
    this.options.log(`clusterize: worker ${worker.id} (pid ${worker.pid}) exited with ${how}; starting a replacement in ${delay} ms`
      + (this.backoff.crashesInARow > 1 ? ` (${this.backoff.crashesInARow} crashes in a row)` : ''));
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
