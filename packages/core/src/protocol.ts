/**
 * The IPC protocol between the primary and its workers.
 *
 * Every message carries `cmd: NAMESPACE`. child_process delivers messages whose `cmd`
 * starts with `NODE_` as 'internalMessage' instead of 'message', so the application's own
 * `process.on('message')` and `worker.on('message')` never see ours, and theirs never
 * reach our handler table. Worker messages also carry the worker's secret token, so an
 * application that imitates our messages is ignored.
 *
 * Each message is defined once, as a schema (schema.ts): its type is derived from it, and
 * each side checks what it receives against it, the handle it came with included.
 */
import type { ClientHandle, ListenHandle } from './node-internals.js';
import { MAX_NAME_LENGTH } from './payload.js';
import { arrayOf, bool, explain, int, literal, measure, nullable, optional, shape, str, type Field, type Shape, type ShapeOf, type TypeOf } from './schema.js';

export const NAMESPACE = 'NODE_CLUSTERIZE';

/**
 * How soon a worker reports its open connections after one opens or closes: the primary's
 * least-connections picks each connection by them; shared sockets only set caps from them,
 * for which a coarser figure does, and cheaper with a new connection per request.
 */
export const LOAD_REPORT_MS = { forward: 5, shared: 25 } as const;

/** What a handle-carrying message brings along, by the name its schema gives it. */
interface HandleKinds {
  /** A client connection (no net.Socket around it yet). */
  client: ClientHandle;
  /** A listening socket, or one bound for the worker to listen on. */
  listen: ListenHandle;
}
type HandleKind = keyof HandleKinds;

const HANDLE = Symbol('handle');
type Carries<K extends HandleKind> = { readonly [HANDLE]: K };

/** A message that travels with a descriptor of kind `kind` (which may be missing on arrival). */
function carries<K extends HandleKind, S extends Shape>(kind: K, fields: S): S & Carries<K> {
  return { ...fields, [HANDLE]: kind };
}

const count = int();
const seq = int();
/** A listener's key (the primary's name for it), and other short strings. */
const key = str(4095);

/** A worker's metrics JSON: large registries (many label sets) stay far below this. */
export const MAX_METRICS_JSON = 32 * 1024 * 1024;
const metricsJson = str(MAX_METRICS_JSON);

/** The longest text of a request's error that travels back: a stack or a huge message is cut there. */
export const MAX_ERROR_TEXT = 4095;

/** Hand-off ids or listener keys in one report: far more than a worker gets between two. */
const MAX_REPORTED = 99_999;

const listenQuery = shape({
  address: nullable(key),
  port: int(-1, 65_535),
  addressType: nullable(literal(4, 6, -1)),
  fd: optional(nullable(int(-1))),
  flags: optional(int()),
  backlog: optional(int()),
  readableAll: optional(bool),
  writableAll: optional(bool),
  /** For port 0: the n-th such listen() of this worker, so each gets its own shared port. */
  index: int(),
});

/** A listen() call as the worker asks for it: Node's query plus which port-0 server it is. */
export type ListenQuery = TypeOf<typeof listenQuery>;

export const loopDelay = shape({ mean: measure, p99: measure, max: measure });

/** Event-loop delay over the last heartbeat interval, in milliseconds. */
export type LoopDelay = TypeOf<typeof loopDelay>;

const peer = shape({ address: key, port: int(0, 65_535), family: literal('IPv4', 'IPv6') });

/** A client's address as a PROXY protocol header gives it, shaped as Node's getpeername() reports one. */
export type Peer = TypeOf<typeof peer>;

const sockname = shape({ address: key, family: key, port: int() });

export type Sockname = TypeOf<typeof sockname>;

const transport = literal('forward', 'shared', 'self');

/** A topic, request or lead name. */
const name = str(MAX_NAME_LENGTH);
/**
 * The JSON text of a publish's or request's data, absent for none: the sender measured it
 * against maxMessageSize, and the primary passes a publish on as text, never parsed.
 */
const data = optional(str());
/** A leader's term: one more for each worker elected under a lead name. */
const term = int(1);

/** Why a request failed, as its reply says: the worker throws a coded error from it. */
const requestError = shape({
  code: literal('ERR_CLUSTERIZE_NO_HANDLER', 'ERR_CLUSTERIZE_HANDLER_FAILED', 'ERR_CLUSTERIZE_NOT_JSON', 'ERR_CLUSTERIZE_MESSAGE_TOO_LARGE'),
  message: str(MAX_ERROR_TEXT),
  /** What the handler threw: its name, message and code (a string one), the error's `cause` in the worker. */
  thrown: optional(shape({ name: str(MAX_ERROR_TEXT), message: str(MAX_ERROR_TEXT), code: optional(str(MAX_ERROR_TEXT)) })),
});

export type RequestError = TypeOf<typeof requestError>;

export type Transport = TypeOf<typeof transport>;

/** What workers send, one schema per act. */
const workerSchemas = {
  hello: { pid: int(1) },
  listen: { seq, query: listenQuery },
  unlisten: { key },
  listenFailed: { key, errno: int(-Infinity, -1) },
  ready: {},
  accepting: { key },
  /** Answers 'pause': the worker closed its copy of the listener's socket and accepts no more on it. */
  paused: { key },
  /**
   * Hand-offs (ids, across all listeners) the worker took, and those it refused because it
   * is draining (they may go to any worker). `full`: its server was at maxConnections;
   * `lost`: the descriptor never arrived (NODE_HANDLE_NACK). Those two must go to another
   * worker. `room`: listeners (keys) whose server answered `full` and has since closed a
   * connection, so it has room again. The three travel only when not empty, so the usual
   * report stays as small as before.
   */
  acks: {
    accepted: arrayOf(count, MAX_REPORTED), refused: arrayOf(count, MAX_REPORTED),
    full: optional(arrayOf(count, MAX_REPORTED)), lost: optional(arrayOf(count, MAX_REPORTED)), room: optional(arrayOf(key, MAX_REPORTED)),
    connections: count,
  },
  /**
   * A connection the worker accepted on its own copy of a shared socket, passed back with
   * its descriptor because the worker is at its cap; `connections`: its open connections.
   */
  passBack: carries('client', { key, connections: count }),
  draining: {},
  /** Sent once, after the drain deadline cut `connections` connections that were still open. */
  cut: { connections: int(1) },
  /** `inspector`: the worker's inspector is open (--inspect, SIGUSR1): paused in a debugger, it cannot answer. */
  pong: { seq, rss: measure, delay: loopDelay, connections: count, accepted: count, inspector: optional(bool) },
  /** Answers 'collectMetrics': the app's prom-client registry as JSON (getMetricsAsJSON), null without prom-client. */
  metrics: { seq, json: nullable(metricsJson) },
  /** Sent once, as a drained worker exits: its registry as in 'metrics', so what it counted since the last scrape is kept. */
  finalMetrics: { json: metricsJson },
  /** clusterMetrics() in the app: asks for the cluster's aggregated metrics text. */
  metricsRequest: { seq },
  /** publish() in the app: for every worker and the primary's subscribers. */
  publish: { topic: name, data },
  /** request() in the app: for the primary's handler of `name`; answered by 'reply' with the same seq. */
  request: { seq, name, data },
  /** lead() in the app: this worker runs for leader of `name`. */
  leadWanted: { name },
  /** The app resigned: this worker no longer runs for leader of `name` (if it leads, 'leadEnded' follows). */
  leadWithdrawn: { name },
  /** Its job for `name` in `term` has settled after it stopped leading, or it declined the term: the next may be elected. */
  leadEnded: { name, term },
};

/** What the primary sends, one schema per act. */
const primarySchemas = {
  /** Answers 'listen'; with the listening socket when the worker accepts on a shared one. */
  listening: carries('listen', {
    seq, errno: int(-Infinity, 0), key, transport, sockname: nullable(sockname),
    /**
     * Report open connections this many ms after one opens or closes (0: with heartbeats
     * only): the primary balances on them (see LOAD_REPORT_MS).
     */
    reportLoad: count,
    /** The cluster's TLS session-ticket keys (hex), so a session resumes on any worker. */
    ticketKeys: key,
  }),
  /** Start accepting: on the shared socket it brings, or (none) on one the worker binds itself. */
  accept: carries('listen', { key }),
  pause: { key },
  /** Open connections past which the worker passes new ones on this shared socket back (null: none). */
  share: { key, cap: nullable(count) },
  /**
   * Rebalancing: close `count` keep-alive connections after their current response, and
   * pass back up to `count` new connections past `cap` in the next `hold` ms.
   */
  shed: { key, count, cap: count, hold: count },
  /** A connection for the worker to serve. `peer`: the client the PROXY protocol header named, where the listener reads one. */
  conn: carries('client', { key, id: count, peer: optional(peer) }),
  /** `signal`: what the app's own listeners are called for (SIGINT for a Ctrl-C to the primary). */
  drain: { timeout: count, signal: literal('SIGINT', 'SIGTERM') },
  ping: { seq },
  collectMetrics: { seq },
  /** Answers 'metricsRequest'. */
  clusterMetrics: { seq, text: str() },
  /** A publish, from worker `from` (0: the primary), to every worker, its sender included. */
  published: { topic: name, data, from: count },
  /** Answers 'request': its reply's data, or why it failed. */
  reply: { seq, data, error: optional(requestError) },
  /** This worker leads `name` in `term` until it leaves (then it aborts its job and says 'leadEnded'). */
  leadGranted: { name, term },
};

type Schemas = { readonly [act: string]: Shape };
type Acts<S extends Schemas> = keyof S & string;

type MessageIn<S extends Schemas, A extends Acts<S>> = { act: A } & ShapeOf<S[A]>;

/** The messages `schemas` defines, as a union discriminated by `act`. */
export type MessageFrom<S extends Schemas> = { [A in Acts<S>]: MessageIn<S, A> }[Acts<S>];

export type WorkerMessage = MessageFrom<typeof workerSchemas>;
export type PrimaryMessage = MessageFrom<typeof primarySchemas>;

type Envelope<M> = M & { cmd: typeof NAMESPACE };

export type Act<M extends { act: string }> = M['act'];
export type MessageOf<M extends { act: string }, A extends Act<M>> = Extract<M, { act: A }>;

/** A worker's report on the hand-offs it got. */
export type Acks = MessageOf<WorkerMessage, 'acks'>;

/** The handle a message of act `A` arrives with: undefined where its schema carries none, or the descriptor was lost. */
type HandleOf<S extends Schemas, A extends Acts<S>> = A extends Acts<S> ? (S[A] extends Carries<infer K> ? HandleKinds[K] | undefined : undefined) : never;

/** What the primary may send with message `M`: never for a message whose schema carries no descriptor. */
export type PrimaryHandle<M extends PrimaryMessage> = Exclude<HandleOf<typeof primarySchemas, M['act']>, undefined>;

/**
 * A handler per act, typed so that a missing one is a compile error; those of messages that
 * carry a descriptor also get it, typed by its kind. `Before`: what each handler gets first
 * (in the primary: the worker the message came from).
 */
type HandlerTable<S extends Schemas, Before extends unknown[]> = {
  [A in Acts<S>]: S[A] extends Carries<HandleKind>
    ? (...args: [...Before, message: MessageIn<S, A>, handle: HandleOf<S, A>]) => void
    : (...args: [...Before, message: MessageIn<S, A>]) => void;
};

export type WorkerMessageHandlers<W> = HandlerTable<typeof workerSchemas, [worker: W]>;
export type PrimaryMessageHandlers = HandlerTable<typeof primarySchemas, []>;

export function isOurs(message: unknown): message is Record<string, unknown> & { cmd: typeof NAMESPACE } {
  return message !== null && typeof message === 'object' && (message as { cmd?: unknown }).cmd === NAMESPACE;
}

/**
 * `kind` groups refusals for rate-limited warnings (one line per kind per second);
 * `reason` says what was wrong with this one.
 */
type Verdict<M> = { ok: true; message: M } | { ok: false; kind: string; reason: string };

interface Compiled {
  check: Field<unknown>;
  carries: boolean;
}

function compile(schemas: Schemas): Map<string, Compiled> {
  return new Map(Object.entries(schemas).map(([act, fields]) => [act, { check: shape(fields), carries: HANDLE in fields }]));
}

const workerChecks = compile(workerSchemas);
const primaryChecks = compile(primarySchemas);

function verify<M>(checks: Map<string, Compiled>, message: Record<string, unknown>, handle: unknown): Verdict<M> {
  const act = message.act;
  const compiled = typeof act === 'string' ? checks.get(act) : undefined;
  if (compiled === undefined) return { ok: false, kind: 'unknown act', reason: `unknown act ${JSON.stringify(act)?.slice(0, 40)}` };
  if (!compiled.check(message)) return { ok: false, kind: 'malformed message', reason: `malformed '${act}': ${explain(compiled.check, message)}` };
  if (handle != null && !compiled.carries) return { ok: false, kind: 'malformed message', reason: `'${act}' came with a descriptor it does not carry` };
  return { ok: true, message: message as M };
}

/** Checks a message that claims to be ours, from the worker that owns `token`, and the handle it came with. */
export function verifyWorkerMessage(message: Record<string, unknown>, token: string, handle: unknown): Verdict<WorkerMessage> {
  if (message.token !== token) return { ok: false, kind: 'wrong or missing token', reason: 'wrong or missing token' };
  return verify(workerChecks, message, handle);
}

/** Checks a message that claims to be the primary's, and the handle it came with. */
export function verifyPrimaryMessage(message: Record<string, unknown>, handle: unknown): Verdict<PrimaryMessage> {
  return verify(primaryChecks, message, handle);
}

/*
 * The two functions below are the one place a handle from Node gets its type: verify() lets
 * one through only with a message whose schema carries one of that kind.
 */

/** Calls the handler of a worker message verify() passed, with the worker and the handle it came with. */
export function deliverWorkerMessage<W>(handlers: WorkerMessageHandlers<W>, worker: W, message: WorkerMessage, handle: unknown): void {
  (handlers[message.act] as (worker: W, message: WorkerMessage, handle: unknown) => void)(worker, message, handle ?? undefined);
}

/** Calls the handler of a primary message verify() passed, with the handle it came with. */
export function deliverPrimaryMessage(handlers: PrimaryMessageHandlers, message: PrimaryMessage, handle: unknown): void {
  (handlers[message.act] as (message: PrimaryMessage, handle: unknown) => void)(message, handle ?? undefined);
}

/** Closes a descriptor that came with a message nobody will handle: it would stay open for good. */
export function closeStray(handle: unknown): void {
  (handle as { close?: () => void } | null | undefined)?.close?.();
}

export function envelope<M extends { act: string }>(message: M): Envelope<M> {
  return { cmd: NAMESPACE, ...message };
}
