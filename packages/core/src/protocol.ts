/**
 * The IPC protocol between the primary and its workers.
 *
 * Every message carries `cmd: NAMESPACE`. child_process delivers messages whose `cmd`
 * starts with `NODE_` as 'internalMessage' instead of 'message', so the application's own
 * `process.on('message')` and `worker.on('message')` never see ours, and theirs never
 * reach our handler table. Worker messages also carry the worker's secret token, so an
 * application that imitates our messages is ignored.
 */
import type { ServerQuery } from './node-internals.js';

const NAMESPACE = 'NODE_CLUSTERIZE';

export type Transport = 'forward' | 'shared' | 'self';

/**
 * How soon a worker reports its open connections after one opens or closes: the primary's
 * least-connections picks each connection by them; shared sockets only set caps from them,
 * for which a coarser figure does, and cheaper with a new connection per request.
 */
export const LOAD_REPORT_MS = { forward: 5, shared: 25 } as const;

/** A listen() call as the worker asks for it: Node's query plus which port-0 server it is. */
export interface ListenQuery extends ServerQuery {
  /** For port 0: the n-th such listen() of this worker, so each gets its own shared port. */
  index: number;
}

/** A client's address as a PROXY protocol header gives it, shaped as Node's getpeername() reports one. */
export interface Peer {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

export interface Sockname {
  address: string;
  family: string;
  port: number;
}

export type WorkerMessage =
  | { act: 'hello'; pid: number }
  | { act: 'listen'; seq: number; query: ListenQuery }
  | { act: 'unlisten'; key: string }
  | { act: 'listenFailed'; key: string; errno: number }
  | { act: 'ready' }
  | { act: 'accepting'; key: string }
  /** Answers 'pause': the worker closed its copy of the listener's socket and accepts no more on it. */
  | { act: 'paused'; key: string }
  | {
    /**
     * Hand-offs (ids, across all listeners) the worker took, and those it refused because it
     * is draining (they may go to any worker). `full`: its server was at maxConnections;
     * `lost`: the descriptor never arrived (NODE_HANDLE_NACK). Those two must go to another
     * worker. `room`: listeners (keys) whose server answered `full` and has since closed a
     * connection, so it has room again. The three travel only when not empty, so the usual
     * report stays as small as before.
     */
    act: 'acks'; accepted: number[]; refused: number[]; full?: number[]; lost?: number[]; room?: string[]; connections: number;
  }
  /**
   * A connection the worker accepted on its own copy of a shared socket, passed back with
   * its descriptor because the worker is at its cap; `connections`: its open connections.
   */
  | { act: 'handback'; key: string; connections: number }
  | { act: 'draining' }
  /** Sent once, after the drain deadline cut `connections` connections that were still open. */
  | { act: 'cut'; connections: number }
  | { act: 'pong'; seq: number; rss: number; delay: LoopDelay; connections: number; accepted: number }
  /** Answers 'collectMetrics': the app's prom-client registry as JSON (getMetricsAsJSON), null without prom-client. */
  | { act: 'metrics'; seq: number; json: string | null }
  /** Sent once, as a drained worker exits: its registry as in 'metrics', so what it counted since the last scrape is kept. */
  | { act: 'finalMetrics'; json: string }
  /** clusterMetrics() in the app: asks for the cluster's aggregated metrics text. */
  | { act: 'metricsRequest'; seq: number };

export type PrimaryMessage =
  | {
    act: 'listening'; seq: number; errno: number; key: string; transport: Transport; sockname: Sockname | null;
    /**
     * Report open connections this many ms after one opens or closes (0: with heartbeats
     * only): the primary balances on them (see LOAD_REPORT_MS).
     */
    reportLoad: number;
    /** The cluster's TLS session-ticket keys (hex), so a session resumes on any worker. */
    ticketKeys: string;
  }
  | { act: 'accept'; key: string }
  | { act: 'pause'; key: string }
  /** Open connections past which the worker passes new ones on this shared socket back (null: none). */
  | { act: 'share'; key: string; cap: number | null }
  /**
   * Rebalancing: close `count` keep-alive connections after their current response, and
   * pass back up to `count` new connections past `cap` in the next `hold` ms.
   */
  | { act: 'shed'; key: string; count: number; cap: number; hold: number }
  /** `peer`: the client the PROXY protocol header named, where the listener reads one. */
  | { act: 'conn'; key: string; id: number; peer?: Peer }
  | { act: 'drain'; timeout: number }
  | { act: 'ping'; seq: number }
  | { act: 'collectMetrics'; seq: number }
  /** Answers 'metricsRequest'. */
  | { act: 'clusterMetrics'; seq: number; text: string };

/** Event-loop delay over the last heartbeat interval, in milliseconds. */
export interface LoopDelay {
  mean: number;
  p99: number;
  max: number;
}

type Envelope<M> = M & { cmd: typeof NAMESPACE };

export type Act<M extends { act: string }> = M['act'];
export type MessageOf<M extends { act: string }, A extends Act<M>> = Extract<M, { act: A }>;

/** A worker's report on the hand-offs it got. */
export type Acks = MessageOf<WorkerMessage, 'acks'>;

type Check = (message: Record<string, unknown>) => boolean;

const isInt = (value: unknown, least = 0): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= least;
const isString = (value: unknown): value is string => typeof value === 'string' && value.length < 4096;
const isIntArray = (value: unknown): boolean => Array.isArray(value) && value.length < 100_000 && value.every((v) => isInt(v));
const isOptionalIntArray = (value: unknown): boolean => value === undefined || isIntArray(value);
const isOptionalStringArray = (value: unknown): boolean =>
  value === undefined || (Array.isArray(value) && value.length < 100_000 && value.every(isString));

/** A worker's metrics JSON: large registries (many label sets) stay far below this. */
export const MAX_METRICS_JSON = 32 * 1024 * 1024;
const isMetricsJson = (value: unknown): boolean => typeof value === 'string' && value.length <= MAX_METRICS_JSON;

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0;

function isDelay(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const d = value as Record<string, unknown>;
  return isNumber(d.mean) && isNumber(d.p99) && isNumber(d.max);
}

function isQuery(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const q = value as Record<string, unknown>;
  return (q.address === null || isString(q.address))
    && (isInt(q.port) || q.port === -1) && q.port as number <= 65_535
    && (q.addressType === null || q.addressType === 4 || q.addressType === 6 || q.addressType === -1)
    && (q.fd === undefined || q.fd === null || isInt(q.fd, -1))
    && (q.flags === undefined || isInt(q.flags))
    && (q.backlog === undefined || q.backlog === null || isInt(q.backlog))
    && isInt(q.index);
}

/** Shape checks for what workers send: anything else is dropped with a warning. */
const workerChecks: Record<Act<WorkerMessage>, Check> = {
  hello: (m) => isInt(m.pid, 1),
  listen: (m) => isInt(m.seq) && isQuery(m.query),
  unlisten: (m) => isString(m.key),
  listenFailed: (m) => isString(m.key) && typeof m.errno === 'number' && Number.isInteger(m.errno) && m.errno < 0,
  ready: () => true,
  accepting: (m) => isString(m.key),
  paused: (m) => isString(m.key),
  acks: (m) => isIntArray(m.accepted) && isIntArray(m.refused) && isOptionalIntArray(m.full) && isOptionalIntArray(m.lost)
    && isOptionalStringArray(m.room) && isInt(m.connections),
  handback: (m) => isString(m.key) && isInt(m.connections),
  draining: () => true,
  cut: (m) => isInt(m.connections, 1),
  pong: (m) => isInt(m.seq) && isNumber(m.rss) && isDelay(m.delay) && isInt(m.connections) && isInt(m.accepted),
  metrics: (m) => isInt(m.seq) && (m.json === null || isMetricsJson(m.json)),
  finalMetrics: (m) => isMetricsJson(m.json),
  metricsRequest: (m) => isInt(m.seq),
};

export function isOurs(message: unknown): message is Record<string, unknown> & { cmd: typeof NAMESPACE } {
  return message !== null && typeof message === 'object' && (message as { cmd?: unknown }).cmd === NAMESPACE;
}

/**
 * `kind` groups refusals for rate-limited warnings (one line per kind per second);
 * `reason` says what was wrong with this one.
 */
type Verdict = { ok: true; message: WorkerMessage } | { ok: false; kind: string; reason: string };

/** Checks a message that claims to be ours, from the worker that owns `token`. */
export function verifyWorkerMessage(message: Record<string, unknown>, token: string): Verdict {
  if (message.token !== token) return { ok: false, kind: 'wrong or missing token', reason: 'wrong or missing token' };
  const act = message.act;
  if (typeof act !== 'string' || !Object.hasOwn(workerChecks, act)) {
    return { ok: false, kind: 'unknown act', reason: `unknown act ${JSON.stringify(act)?.slice(0, 40)}` };
  }
  if (!workerChecks[act as Act<WorkerMessage>](message)) return { ok: false, kind: 'malformed message', reason: `malformed '${act}'` };
  return { ok: true, message: message as unknown as WorkerMessage };
}

export function envelope<M extends { act: string }>(message: M): Envelope<M> {
  return { cmd: NAMESPACE, ...message };
}
