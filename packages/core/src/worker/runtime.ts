import { EventEmitter } from 'node:events';
import { getSystemErrorName } from 'node:util';
import type net from 'node:net';
import inspector from 'node:inspector';
import tls from 'node:tls';
import { bindHandle, hasOwnTicketKeys, messageOfLostHandle, onInternalMessage, presentPeer, releaseChannelRef, routeListenCalls, UV_TCP_REUSEPORT, type ClientHandle, type GetServerCallback, type ListenHandle, type ServerQuery } from '../node-internals.js';
import { closeStray, deliverPrimaryMessage, envelope, isOurs, verifyPrimaryMessage, type Acks, type ListenQuery, type PrimaryMessageHandlers, type Sockname, type Transport, type WorkerMessage } from '../protocol.js';
import { acceptedConnections, openConnections, shed, track, watchCloses } from '../drain/connections.js';
import { exitAfterDrain } from '../drain/exit-after-drain.js';
import { AppSignalListeners } from '../supervision/app-signal-listeners.js';
import type { LeadJob, LeadOptions, RequestCall, RequestName, RequestOptions, RequestReply, Subscriber, Topic, TopicData } from '../message-types.js';
import { guardAppSend } from './app-send.js';
import { guarded, intoApp, logLine, reportRuntimeError } from './guard.js';
import { WorkerLeads } from './leads.js';
import { LoopDelayMonitor } from './loop-delay.js';
import { ResidentMemory } from './memory.js';
import { WorkerMessaging } from './messaging.js';
import { ClusterMetricsRequests, registryJson } from './metrics.js';
import { ignoreBrokenOutputPipes } from './output-pipes.js';
import { SendsInFlight } from './sends-in-flight.js';
import { FOREVER, ProxyHandle } from './proxy-handle.js';

interface Registration {
  server: net.Server;
  query: ServerQuery;
  sockname: Sockname | null;
  proxy: ProxyHandle;
  transport: Transport;
  /** Shared sockets: open connections past which new ones go back to the primary (null: none). */
  cap: number | null;
  /** While rebalancing (until `holdUntil`), up to `holdBudget` new connections past `holdCap` (the mean) go back too. */
  holdCap: number;
  holdUntil: number;
  holdBudget: number;
  /** It turned a hand-off away at maxConnections: the primary hears when one of its connections closes. */
  awaitingRoom: boolean;
}

interface PendingListen {
  server: net.Server;
  query: ServerQuery;
  callback: GetServerCallback;
  /** Keeps the process alive until the primary answers, as a binding socket would. */
  hold: NodeJS.Timeout;
}

export interface WorkerEvents {
  /**
   * The worker stops getting connections and is finishing its requests: close long-lived
   * ones. Without a listener, the drain ends event streams and sends WebSockets a close
   * frame (1001) itself.
   */
  drain: [];
  /** This worker was elected leader of lead name `name`, in `term`: its job starts now. */
  lead: [term: number, name: string];
}


/** The options the primary passes on (see worker-env.ts). */
export interface RuntimeSettings {
  /** Milliseconds a drain on SIGTERM or disconnect gets. */
  shutdownTimeout: number;
  /** Bytes of JSON the app's process.send() may send at once. */
  maxMessageSize: number;
  /** Milliseconds the primary waits for each worker's metrics. */
  metricsTimeout: number;
}

/**
 * The worker side: routes this process's listen() calls to the primary, adopts the
 * connections or sockets the primary gives, reports readiness and load, and drains.
 */
export class WorkerRuntime extends EventEmitter<WorkerEvents> {
  private seq = 0;
  private readonly pendingListens = new Map<number, PendingListen>();
  private readonly registrations = new Map<string, Registration>();
  private readonly portZeroListens = new Map<string, number>();
  private readonly readinessHolds: Promise<unknown>[] = [];
  private readonly shutdownHooks: (() => unknown)[] = [];
  private readyScheduled = false;
  private draining = false;
  /** The listeners the app adds for SIGINT and SIGTERM, which a drain calls. */
  private appSignals!: AppSignalListeners;
  /** Set once a drain called the app's own listeners; resolved when it says it is done without exiting. */
  private appShutdown: PromiseWithResolvers<void> | undefined;
  private accepted: number[] = [];
  private refused: number[] = [];
  private full: number[] = [];
  private lost: number[] = [];
  private room: string[] = [];
  private reportScheduled = false;
  private loadTimer: NodeJS.Timeout | null = null;
  /** The soonest any listener wants load reports (ms after a connection opens or closes). */
  private loadReportMs = Infinity;
  private readonly loopDelay = new LoopDelayMonitor();
  private readonly memory = new ResidentMemory();
  private readonly shutdownTimeout: number;
  private readonly maxMessageSize: number;
  /**
   * Proves our messages are ours to the primary. Truly private (not a TypeScript `private`):
   * this object is public through currentWorker(), and no key, getter or JSON of it shows
   * the token, nor can app code swap the send it goes through.
   */
  readonly #token: string;
  private readonly metricsRequests: ClusterMetricsRequests;
  private readonly messaging: WorkerMessaging;
  private readonly leads: WorkerLeads;
  /** The channel's own send: the app's `process.send` refuses our `cmd`. */
  #sendRaw: NonNullable<typeof process.send> = () => false;
  /** Our messages not yet written to the channel: a drain exits only once they are. */
  private readonly inFlight = new SendsInFlight();

  constructor(
    /** This worker's id: one more for every worker the cluster forks (CLUSTERIZE_WORKER_ID). */
    readonly id: number,
    /**
     * Its place in the cluster, 0 to workers - 1 (CLUSTERIZE_WORKER_SLOT, and NODE_APP_INSTANCE
     * as PM2 names it): a replacement after a crash, a hang, a recycle or a reload takes over
     * its predecessor's slot. During a reload an old and a new worker briefly share one.
     */
    readonly slot: number,
    token: string,
    settings: RuntimeSettings,
  ) {
    super();
    this.#token = token;
    this.shutdownTimeout = settings.shutdownTimeout;
    this.maxMessageSize = settings.maxMessageSize;
    this.metricsRequests = new ClusterMetricsRequests((seq) => this.send({ act: 'metricsRequest', seq }), settings.metricsTimeout);
    this.messaging = new WorkerMessaging((message) => this.send(message), settings.maxMessageSize);
    this.leads = new WorkerLeads({
      send: (message) => this.send(message),
      announce: (term, name) => {
        try {
          this.emit('lead', term, name);
        } catch (error) {
          reportRuntimeError("a 'lead' listener", error);
        }
      },
      log: logLine,
      who: `worker ${id} (pid ${process.pid})`,
    });
  }

  start(): void {
    this.#sendRaw = guardAppSend(this.maxMessageSize);
    routeListenCalls((server, query, callback) => this.listen(server, query, callback));
    onInternalMessage(process, guarded('handling a message from the primary', (message: unknown, handle: unknown) => {
      if (isOurs(message)) this.receive(message, handle);
      else this.lostHandle(messageOfLostHandle(message, handle));
    }));
    // Ctrl-C reaches the whole process group; the primary drives shutdown, not each worker.
    const onSigint = () => this.signalled('SIGINT');
    const onSigterm = () => this.signalled('SIGTERM');
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
    // Before any app code: every listener it adds for them is the drain's to call.
    this.appSignals = new AppSignalListeners(['SIGINT', 'SIGTERM'], new Set([onSigint, onSigterm] as never[]), logLine);
    this.appSignals.install();
    // The primary is gone (or let go of us): finish what is in flight, then exit.
    process.on('disconnect', () => {
      this.messaging.primaryGone();
      void this.drain(this.shutdownTimeout);
    });
    ignoreBrokenOutputPipes();
    releaseChannelRef();
    this.send({ act: 'hello', pid: process.pid });
  }

  /** Holds readiness back until `work` settles (start-up work such as connecting a database). */
  waitFor(work: Promise<unknown>): void {
    this.readinessHolds.push(work);
  }

  /** Runs before the worker exits after a drain (framework close hooks). */
  beforeExit(hook: () => unknown): void {
    this.shutdownHooks.push(hook);
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Sends `data` (JSON, at most maxMessageSize) to every subscriber of `topic`: in every
   * worker, this one included, and in the primary. Throws a coded TypeError for data JSON
   * cannot carry, a RangeError when it is too large, ERR_CLUSTERIZE_PRIMARY_GONE once the
   * primary is gone.
   */
  publish<T extends Topic>(topic: T, data: TopicData<T>): void {
    this.messaging.publish(topic, data);
  }

  /** Calls `handler` with the data of every publish to `topic` from now on; returns the function that unsubscribes. */
  subscribe<T extends Topic>(topic: T, handler: Subscriber<T>): () => void {
    return this.messaging.subscribe(topic, handler as (data: unknown, from: number | 'primary') => void);
  }

  /**
   * Asks the primary's handler of `name` (cluster.handle()) and resolves with its reply.
   * Rejects with a coded error when the primary has no handler, the handler throws, no reply
   * comes within `timeout` ms (default 10000), or the primary is gone.
   */
  request<N extends RequestName>(name: N, ...[payload, options]: RequestCall<N>): Promise<RequestReply<N>> {
    return this.messaging.request(name, payload, options as RequestOptions | undefined) as Promise<RequestReply<N>>;
  }

  /**
   * Runs for leader of `options.name` (default 'default'): the cluster runs `job` in one
   * worker at a time, with an AbortSignal that aborts when that worker stops leading (it
   * drains: a reload, a scale-down, a recycle, a shutdown) and its term, which grows with
   * each new leader. The next leader starts once the last one's job has settled or its
   * process is gone. Returns the function that resigns (aborting the job if it runs).
   */
  lead(job: LeadJob, options?: LeadOptions): () => void {
    return this.leads.lead(job, options);
  }

  /** True while this worker leads (under any lead name). */
  get isLeader(): boolean {
    return this.leads.isLeader;
  }

  /** The cluster's metrics text, aggregated by the primary (see clusterMetrics()). */
  clusterMetrics(): Promise<string> {
    return this.metricsRequests.request();
  }

  /**
   * A signal Node delivered. SIGTERM drains; SIGINT, which Ctrl-C sends to the whole process
   * group, is the primary's to act on (it drains each worker). Once the app's own listeners
   * have been called, either one is the app raising it again as its shutdown ends (NestJS
   * does, expecting to die of it): the app is done.
   */
  private signalled(signal: 'SIGINT' | 'SIGTERM'): void {
    if (this.appShutdown !== undefined) return this.appShutdown.resolve();
    if (signal === 'SIGTERM') void this.drain(this.shutdownTimeout);
  }

  /**
   * Stops accepting, finishes in-flight requests (up to `timeout` ms), runs the beforeExit
   * hooks and exits; whatever still runs shortly after `timeout` is cut short.
   *
   * Every drain is a SIGTERM to the app (`signal`: SIGINT when a Ctrl-C stops the cluster),
   * as plain `node` gets one: the app's own listeners for it (NestJS's shutdown hooks,
   * terminus, close-with-grace, an OpenTelemetry flush), set aside as the app added them
   * (see AppSignalListeners), are called once its in-flight requests have finished, and
   * the app then says when the process is done (see exitAfterDrain).
   */
  async drain(timeout: number, signal: 'SIGINT' | 'SIGTERM' = 'SIGTERM'): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.send({ act: 'draining' });
    this.leads.stepDown('it drains');
    for (const { proxy } of this.registrations.values()) proxy.detach();
    // An app that listens closes its WebSockets and event streams its own way; we do not.
    const politely = this.listenerCount('drain') === 0;
    try {
      this.emit('drain');
    } catch (error) {
      reportRuntimeError("a 'drain' listener", error);
    }
    const servers = [...this.registrations.values()].map(({ server }) => server);
    // The primary logs what was cut, and a shutdown that cut anything exits non-zero.
    const cut = (connections: number) => this.send({ act: 'cut', connections });
    /** The drain is over: an exit from here on cuts nothing the drain did not count. */
    let drained = false;
    const settled = async (deadline: number) => {
      drained = true;
      // The next leader is elected once this one's job has settled: it has until the deadline.
      await this.leads.settled(deadline);
      await this.sendFinalMetrics();
      const pending = this.inFlight.pending;
      if (await this.inFlight.settled(deadline) || pending === 0) return;
      logLine(`clusterize: worker ${this.id} (pid ${process.pid}) exits with ${this.inFlight.pending} of its messages to the primary unsent (passed-back connections among them are lost)`);
    };
    // The app ends the process itself (process.exit in a timer, or in a hook), maybe before the drain is done.
    process.once('exit', () => drained || this.exitedByApp(servers));
    const appListens = this.appSignals.has(signal);
    await exitAfterDrain(servers, timeout, {
      who: `worker ${this.id} (pid ${process.pid})`, log: logLine, politely, cut, hooks: this.shutdownHooks, settled,
      appShutdown: !appListens ? undefined : () => {
        this.appShutdown = Promise.withResolvers<void>();
        this.appSignals.call(signal);
        return this.appShutdown.promise;
      },
    });
  }

  /** The app ended the process before the drain was over (process.exit in a timer, say): what was still open is cut, and said so. */
  private exitedByApp(servers: readonly net.Server[]): void {
    const open = servers.reduce((sum, server) => sum + openConnections(server), 0);
    if (open === 0) return;
    logLine(`clusterize: worker ${this.id} (pid ${process.pid}): the app exited (process.exit) while the drain still had ${open} connection${open === 1 ? '' : 's'} open, which were cut`);
    // A small message is written at once when the channel is free: the primary counts what was cut.
    this.send({ act: 'cut', connections: open });
  }

  /** The app's metrics as the worker exits, so the primary keeps what it counted since the last scrape. */
  private async sendFinalMetrics(): Promise<void> {
    const json = process.connected ? await registryJson() : null;
    if (json !== null) this.send({ act: 'finalMetrics', json });
  }

  /** False when the channel to the primary is gone. */
  private send(message: WorkerMessage): boolean {
    if (!process.connected) return false;
    this.#sendRaw({ ...envelope(message), token: this.#token }, undefined, undefined, this.inFlight.track());
    return true;
  }

  private listen(server: net.Server, asked: ServerQuery, callback: GetServerCallback): void {
    const seq = ++this.seq;
    const query = plainQuery(asked);
    this.pendingListens.set(seq, { server, query, callback, hold: setInterval(() => {}, FOREVER) });
    const family = `${query.address}:${query.addressType}`;
    const index = query.port === 0 ? this.portZeroListens.get(family) ?? 0 : 0;
    if (query.port === 0) this.portZeroListens.set(family, index + 1);
    this.send({ act: 'listen', seq, query: { ...query, index } });
  }

  /**
   * A message from the primary is checked as the primary checks ours. The primary is not an
   * adversary: a malformed message means a version mismatch or a bug, which the first line
   * of each kind names; it is dropped, never acted on.
   */
  private receive(message: Record<string, unknown>, handle: unknown): void {
    const verdict = verifyPrimaryMessage(message, handle);
    if (verdict.ok) return deliverPrimaryMessage(this.handlers, verdict.message, handle);
    closeStray(handle);
    if (this.refusalsLogged.has(verdict.kind)) return;
    this.refusalsLogged.add(verdict.kind);
    logLine(`clusterize: worker ${this.id} (pid ${process.pid}) ignored a message from the primary: ${verdict.reason} (later ones of this kind are not logged)`);
  }

  private readonly refusalsLogged = new Set<string>();

  private readonly handlers: PrimaryMessageHandlers = {
    listening: ({ seq, errno, key, transport, sockname, reportLoad, ticketKeys }, handle) => {
      const pending = this.pendingListens.get(seq);
      if (pending === undefined) return;
      this.pendingListens.delete(seq);
      clearInterval(pending.hold);
      const failed = errno !== 0 ? errno : this.tryListen(pending.query, transport, sockname, handle);
      if (failed !== 0) {
        if (errno === 0) this.send({ act: 'listenFailed', key, errno: failed });
        intoApp(() => pending.callback(failed, null));
        return;
      }
      const proxy = new ProxyHandle(key, sockname, (closed) => this.unregister(closed), (client) => this.passBack(key, client));
      this.registrations.set(key, { server: pending.server, query: pending.query, sockname, proxy, transport, cap: null, holdCap: 0, holdUntil: 0, holdBudget: 0, awaitingRoom: false });
      // Balancing by open connections needs to hear soon when they open and close.
      if (reportLoad > 0) this.loadReportMs = Math.min(this.loadReportMs, reportLoad);
      track(pending.server, reportLoad > 0 ? this.scheduleLoadReport : undefined);
      shareTicketKeys(pending.server, ticketKeys);
      intoApp(() => pending.callback(0, proxy));
      this.scheduleReady();
    },
    accept: ({ key }, handle) => {
      const registration = this.registrations.get(key);
      if (registration === undefined || this.draining) {
        handle?.close();
        return;
      }
      const source = handle ?? this.bindOwnSocket(registration.query, registration.sockname);
      if (typeof source === 'number') return intoApp(() => registration.server.emit('error', bindError(source, registration.query)));
      const errno = registration.proxy.attach(source, registration.query.backlog ?? 511);
      if (errno !== 0) intoApp(() => registration.server.emit('error', bindError(errno, registration.query)));
      // The primary counts this worker ready once it really accepts.
      else this.send({ act: 'accepting', key });
    },
    pause: ({ key }) => {
      this.registrations.get(key)?.proxy.detach();
      // The primary holds back the next drain until no held-back worker can still accept.
      this.send({ act: 'paused', key });
    },
    share: ({ key, cap }) => {
      const registration = this.registrations.get(key);
      if (registration !== undefined) registration.cap = cap;
    },
    shed: ({ key, count, cap, hold }) => {
      const registration = this.registrations.get(key);
      if (registration === undefined || this.draining) return;
      registration.holdCap = cap;
      registration.holdUntil = Date.now() + hold;
      registration.holdBudget = shed(registration.server, count);
    },
    conn: ({ key, id, peer }, client) => {
      const registration = this.registrations.get(key);
      if (client === undefined) {
        // The client went away while the connection was in flight: nothing to serve.
        this.accepted.push(id);
      } else if (registration === undefined || this.draining) {
        // Draining: the primary hands it to a worker that is not.
        client.close();
        this.refused.push(id);
      } else if (atMaxConnections(registration.server)) {
        // Node would drop it; the primary gives it to another worker instead, as node:cluster does.
        client.close();
        this.full.push(id);
        this.awaitRoom(key, registration);
      } else {
        this.accepted.push(id);
        if (peer !== undefined) presentPeer(client, peer);
        intoApp(() => registration.proxy.deliver(client));
      }
      this.scheduleReport();
    },
    drain: ({ timeout, signal }) => void this.drain(timeout, signal),
    ping: ({ seq }) => {
      this.send({
        act: 'pong', seq, rss: this.memory.read(), delay: this.loopDelay.take(),
        connections: this.openConnections(), accepted: acceptedConnections(),
        ...(inspector.url() === undefined ? {} : { inspector: true }),
      });
    },
    collectMetrics: ({ seq }) => void registryJson().then((json) => this.send({ act: 'metrics', seq, json })),
    clusterMetrics: ({ seq, text }) => this.metricsRequests.answered(seq, text),
    published: ({ topic, data, from }) => this.messaging.delivered(topic, data, from),
    reply: ({ seq, data, error }) => this.messaging.answered(seq, data, error),
    leadGranted: ({ name, term }) => this.leads.granted(name, term),
  };

  /**
   * A connection accepted on a shared socket while this worker is at its cap goes back to
   * the primary, which gives it to the worker with the fewest connections. Our copy of the
   * descriptor is closed once the message is written (the kernel holds the one in flight).
   */
  private passBack(key: string, client: ClientHandle): boolean {
    const registration = this.registrations.get(key);
    if (registration === undefined || registration.cap === null || this.draining || !process.connected) return false;
    const connections = this.openConnections();
    if (connections < registration.cap) {
      const holding = registration.holdBudget > 0 && connections >= registration.holdCap && Date.now() < registration.holdUntil;
      if (!holding) return false;
      registration.holdBudget--;
    }
    const message: WorkerMessage = { act: 'passBack', key, connections };
    const written = this.inFlight.track();
    this.#sendRaw({ ...envelope(message), token: this.#token }, client as never, undefined, (error) => {
      // Our copy of the descriptor: once written, the channel holds it until the primary reads it.
      client.close();
      written(error);
    });
    return true;
  }

  /**
   * The primary holds connections every worker turned away as full until one has room:
   * the first close on this server that leaves it below maxConnections is reported.
   */
  private awaitRoom(key: string, registration: Registration): void {
    if (registration.awaitingRoom) return;
    registration.awaitingRoom = true;
    watchCloses(registration.server, () => {
      if (atMaxConnections(registration.server)) return false;
      registration.awaitingRoom = false;
      this.room.push(key);
      this.scheduleReport();
      return true;
    });
  }

  /** A hand-off whose descriptor never arrived: the primary still holds it and gives it to another worker. */
  private lostHandle(message: unknown): void {
    const verdict = isOurs(message) ? verifyPrimaryMessage(message, undefined) : undefined;
    if (verdict?.ok !== true || verdict.message.act !== 'conn') return;
    this.lost.push(verdict.message.id);
    this.scheduleReport();
  }

  private bindOwnSocket(query: ServerQuery, sockname: Sockname | null): ListenHandle | number {
    return bindHandle({ ...query, port: sockname?.port ?? query.port }, (query.flags ?? 0) | UV_TCP_REUSEPORT);
  }

  /**
   * The worker listens once on the socket it will accept on, then lets go of it until it is
   * ready: the socket stays listening (the primary holds it), so clients that connect
   * before any worker is ready wait in its queue instead of being refused, and an error
   * only listen(2) reports reaches the server through Node's own path.
   */
  private tryListen(query: ServerQuery, transport: Transport, sockname: Sockname | null, handle: ListenHandle | undefined): number {
    const socket = transport === 'self' ? this.bindOwnSocket(query, sockname) : handle;
    if (socket === undefined) return 0;
    if (typeof socket === 'number') return socket;
    const errno = socket.listen(query.backlog ?? 511);
    socket.close();
    return errno;
  }

  private unregister(proxy: ProxyHandle): void {
    this.registrations.delete(proxy.key);
    // A drain already told the primary; a server closed by the app unregisters here.
    if (!this.draining) this.send({ act: 'unlisten', key: proxy.key });
  }

  /** Ready once listening and every readiness hold has settled (a failed hold is fatal). */
  private scheduleReady(): void {
    if (this.readyScheduled) return;
    this.readyScheduled = true;
    setImmediate(() => void this.reportReady().catch((error: unknown) => reportRuntimeError('reporting readiness', error)));
  }

  private async reportReady(): Promise<void> {
    const results = await Promise.allSettled(this.readinessHolds);
    const failure = results.find((result) => result.status === 'rejected');
    if (failure !== undefined) {
      process.stderr.write(`clusterize: worker ${this.id} start-up failed: ${(failure.reason as Error)?.stack ?? failure.reason}\n`);
      process.exit(1);
    }
    this.send({ act: 'ready' });
  }

  private openConnections(): number {
    let total = 0;
    for (const { server } of this.registrations.values()) total += openConnections(server);
    return total;
  }

  /** Acknowledgements go out in one message per tick of hand-offs, with the current load. */
  private scheduleReport(): void {
    if (this.reportScheduled) return;
    this.reportScheduled = true;
    queueMicrotask(this.guardedReport);
  }

  private readonly scheduleLoadReport = (): void => {
    this.loadTimer ??= setTimeout(this.guardedReport, this.loadReportMs).unref();
  };

  private readonly guardedReport = guarded('reporting load', () => this.report());

  private report(): void {
    this.reportScheduled = false;
    if (this.loadTimer !== null) clearTimeout(this.loadTimer);
    this.loadTimer = null;
    const { accepted, refused, full, lost, room } = this;
    this.accepted = [];
    this.refused = [];
    const acks: Acks = { act: 'acks', accepted, refused, connections: this.openConnections() };
    // Rare lists travel only when not empty: the usual report costs what it always did.
    if (full.length > 0) {
      acks.full = full;
      this.full = [];
    }
    if (lost.length > 0) {
      acks.lost = lost;
      this.lost = [];
    }
    if (room.length > 0) {
      acks.room = room;
      this.room = [];
    }
    this.send(acks);
  }
}

/** Node fills a query loosely (backlog may be `false`, fd `undefined`): send only clean values. */
function plainQuery(query: ServerQuery): Omit<ListenQuery, 'index'> {
  const positive = (value: unknown) => (typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined);
  const { addressType } = query;
  return {
    address: query.address ?? null,
    port: query.port,
    // Node's are 4, 6 and -1 (a pipe or an fd).
    addressType: addressType === 4 || addressType === 6 || addressType === -1 ? addressType : null,
    fd: typeof query.fd === 'number' && query.fd >= 0 ? query.fd : null,
    flags: positive(query.flags) ?? 0,
    backlog: positive(query.backlog),
    readableAll: query.readableAll === true,
    writableAll: query.writableAll === true,
  };
}

function bindError(errno: number, query: ServerQuery): Error {
  const code = getSystemErrorName(errno);
  const error = new Error(`listen ${code}: could not accept on ${query.address ?? '*'}:${query.port}`);
  return Object.assign(error, { errno, code, syscall: 'listen', address: query.address, port: query.port });
}

/**
 * At `maxConnections` Node's onconnection drops a new connection; node:cluster's worker
 * hands it back instead, unless the app asked for the drop (`dropMaxConnection`, Node 22.12+).
 */
function atMaxConnections(server: net.Server & { dropMaxConnection?: boolean }): boolean {
  return server.maxConnections != null && openConnections(server) >= server.maxConnections && server.dropMaxConnection !== true;
}

/**
 * A TLS session resumed on another worker than the one that issued its ticket needs the
 * same ticket keys there; Node gives every server random ones. Keys the app set itself
 * (`ticketKeys` option) are left alone.
 */
function shareTicketKeys(server: net.Server, keys: string): void {
  if (server instanceof tls.Server && !hasOwnTicketKeys(server)) {
    server.setTicketKeys(Buffer.from(keys, 'hex'));
  }
}
