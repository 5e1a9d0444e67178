/**
 * The control protocol: what `clusterize ls|status|reload|scale|stop|logs` and a cluster's
 * control socket say to each other. One request per connection, each message one line of
 * JSON. The cluster answers every request at once with `cluster` (its state as the request
 * found it) or `error`; reload and scale then end with `done` or `error`, stop with
 * `stopped`, and logs streams `output` until `end`. The cluster closes the connection after
 * its last message.
 *
 * Each message is defined once, as a schema (schema.ts): its type is derived from it, and
 * each side checks what it reads against it.
 */
import { workerReport } from '../admin/admin-server.js';
import { errorCodes } from '../errors.js';
import { MAX_WORKERS } from '../option-checks.js';
import { arrayOf, bool, explain, int, literal, shape, str, type Shape, type ShapeOf, type TypeOf } from '../schema.js';

/** A request is a short line; a longer one is no clusterize client's. */
export const MAX_REQUEST_BYTES = 4096;

/** Workers one report lists: during a reload, draining ones come on top of the target and the surge. */
const MAX_LISTED_WORKERS = 4 * MAX_WORKERS;

export const clusterReport = shape({
  name: str(64),
  pid: int(1),
  policy: str(64),
  /** `stopping` from the moment a stop is asked for (during a shutdown delay too). */
  state: literal('idle', 'running', 'stopping', 'stopped'),
  /** Epoch milliseconds: when the cluster was started. */
  startedAt: int(),
  /** The workers it runs when nothing is under way. */
  target: int(),
  /** Reloads that replaced every worker. */
  reloads: int(),
  workers: arrayOf(workerReport, MAX_LISTED_WORKERS),
});

const requestSchemas = {
  status: {},
  reload: {},
  scale: { workers: int(1, MAX_WORKERS) },
  stop: {},
  logs: {},
} satisfies Record<string, Shape>;

const replySchemas = {
  cluster: { cluster: clusterReport },
  done: { cluster: clusterReport },
  error: { code: literal(...errorCodes), message: str() },
  stopped: { cutConnections: int(), killedWorkers: int(), clean: bool },
  output: { stream: literal('stdout', 'stderr'), text: str() },
  /** The end of `logs`: the cluster stopped, or this client fell too far behind its output. */
  end: { reason: literal('stopped', 'behind'), message: str() },
} satisfies Record<string, Shape>;

type Tagged<S extends Record<string, Shape>, Tag extends string> = { [K in keyof S & string]: Record<Tag, K> & ShapeOf<S[K]> }[keyof S & string];

export type ClusterReport = TypeOf<typeof clusterReport>;

export type ControlRequest = Tagged<typeof requestSchemas, 'command'>;
export type ControlReply = Tagged<typeof replySchemas, 'type'>;
export type Command = ControlRequest['command'];
export type RequestOf<C extends Command> = Extract<ControlRequest, { command: C }>;

export const commands = Object.keys(requestSchemas) as Command[];

export type Parsed<M> = { ok: true; message: M } | { ok: false; reason: string };

function parser<M>(schemas: Record<string, Shape>, tag: string): (line: string) => Parsed<M> {
  const checks = new Map(Object.entries(schemas).map(([name, fields]) => [name, shape(fields)]));
  return (line) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return { ok: false, reason: 'not a line of JSON' };
    }
    const name = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[tag] : undefined;
    const check = typeof name === 'string' ? checks.get(name) : undefined;
    if (check === undefined) return { ok: false, reason: `unknown ${tag} ${JSON.stringify(name)?.slice(0, 40) ?? 'undefined'}` };
    if (!check(value)) return { ok: false, reason: `malformed '${name}': ${explain(check, value)}` };
    return { ok: true, message: value as M };
  };
}

export const parseRequest = parser<ControlRequest>(requestSchemas, 'command');
export const parseReply = parser<ControlReply>(replySchemas, 'type');

/** One message as it travels: a line of JSON. */
export function encode(message: ControlRequest | ControlReply): string {
  return `${JSON.stringify(message)}\n`;
}

/**
 * Calls `onLine` with each line `socket` reads, without its newline. An unfinished line
 * longer than `maxBytes` calls `onTooLong` instead, and nothing more is read.
 */
export function readLines(socket: NodeJS.ReadableStream, onLine: (line: string) => void, maxBytes = Infinity, onTooLong?: () => void): void {
  let partial = '';
  socket.setEncoding('utf8');
  const onData = (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) onLine(line);
    if (Buffer.byteLength(partial) > maxBytes) {
      socket.off('data', onData);
      onTooLong?.();
    }
  };
  socket.on('data', onData);
}
