import { clusterizeTypeError, detailOf, type ClusterizeError } from '../errors.js';
import type { Publisher } from '../message-types.js';
import { checkFunction, checkName, decode, encode } from '../payload.js';
import { Subscriptions } from '../subscriptions.js';
import { MAX_ERROR_TEXT, type RequestError } from '../protocol.js';
import type { WorkerProcess } from '../supervision/worker-process.js';

type Handler<W> = (payload: unknown, worker: W) => unknown;

interface MessagingHost<W> {
  /** The workers alive now. */
  workers(): Iterable<WorkerProcess>;
  /** What a request handler is given of the worker that asks. */
  snapshot(worker: WorkerProcess): W;
  /** maxMessageSize, in bytes. */
  readonly maxBytes: number;
  log(line: string): void;
}

/**
 * The primary's side of publish/subscribe and request/reply: it relays every publish, a
 * worker's or its own, to every worker whose runtime is up (the sender included) and to its
 * own subscribers, in the order it gets them; it answers each request with the handler
 * registered for its name. A publish travels as the JSON text its sender made, never parsed
 * here unless the primary subscribes to its topic.
 */
export class ClusterMessaging<W> {
  private readonly subscriptions = new Subscriptions();
  private readonly handlers = new Map<string, Handler<W>>();

  constructor(private readonly host: MessagingHost<W>) {}

  publish(topic: string, data: unknown): void {
    checkName(topic, 'a topic');
    this.relay(topic, encode(data, this.host.maxBytes, `publish('${topic}')`), 0);
  }

  subscribe(topic: string, handler: (data: unknown, from: Publisher) => unknown): () => void {
    return this.subscriptions.add(topic, handler);
  }

  handle(name: string, handler: Handler<W>): () => void {
    checkName(name, 'a request name');
    checkFunction(handler, 'a request handler');
    if (this.handlers.has(name)) {
      throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_ARGUMENT', `request '${name}' has a handler already; call the function handle() returned to remove it first`);
    }
    this.handlers.set(name, handler);
    return () => {
      if (this.handlers.get(name) === handler) this.handlers.delete(name);
    };
  }

  /** A worker published: relayed as it came. */
  published(worker: WorkerProcess, topic: string, data: string | undefined): void {
    this.relay(topic, data, worker.id);
  }

  /** A worker asked: the handler's reply, or why there is none, goes back to it. */
  requested(worker: WorkerProcess, seq: number, name: string, data: string | undefined): void {
    const answer = (reply: { data?: string; error?: RequestError }) => void worker.post({ act: 'reply', seq, ...reply });
    const handler = this.handlers.get(name);
    if (handler === undefined) return answer({ error: { code: 'ERR_CLUSTERIZE_NO_HANDLER', message: `the primary has no handler for it (cluster.handle('${name}', ...))` } });
    const asked = new Promise((resolve) => resolve(handler(decode(data), this.host.snapshot(worker))));
    asked.then((reply) => {
      try {
        answer({ data: encode(reply, this.host.maxBytes, 'the reply') });
      } catch (error) {
        // A reply JSON cannot carry, or one above maxMessageSize: the worker learns why.
        const code = (error as ClusterizeError).code as 'ERR_CLUSTERIZE_NOT_JSON' | 'ERR_CLUSTERIZE_MESSAGE_TOO_LARGE';
        answer({ error: { code, message: cut(`the handler's reply was not sent: ${detailOf(error as ClusterizeError)}`) } });
      }
    }, (error: unknown) => answer({ error: { code: 'ERR_CLUSTERIZE_HANDLER_FAILED', message: cut(`the primary's handler threw: ${String(error)}`), thrown: thrown(error) } }));
  }

  private relay(topic: string, data: string | undefined, from: number): void {
    for (const worker of this.host.workers()) {
      // A worker still starting may not listen for our messages yet: it says hello first.
      if (worker.phase !== 'starting') worker.post({ act: 'published', topic, data, from });
    }
    const handlers = this.subscriptions.of(topic);
    if (handlers === undefined) return;
    const publisher: Publisher = from === 0 ? 'primary' : from;
    // Later than the call, as in the workers, and in the same order.
    queueMicrotask(() => {
      let value: unknown;
      try {
        value = decode(data);
      } catch (error) {
        return this.host.log(`clusterize: a publish to '${topic}' from worker ${from} is not JSON: ${String(error)}`);
      }
      for (const handler of handlers) {
        const failed = (error: unknown) => this.host.log(`clusterize: a subscriber of '${topic}' in the primary failed: ${(error as Error)?.stack ?? String(error)}`);
        try {
          const result: unknown = handler(value, publisher);
          if (result instanceof Promise) result.catch(failed);
        } catch (error) {
          failed(error);
        }
      }
    });
  }
}

function cut(text: string): string {
  return text.length <= MAX_ERROR_TEXT ? text : `${text.slice(0, MAX_ERROR_TEXT - 1)}…`;
}

/** What a handler threw, as it travels to the worker: its name, message and string code. */
function thrown(error: unknown): RequestError['thrown'] {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  return { name: cut(error.name), message: cut(error.message), ...(typeof code === 'string' ? { code: cut(code) } : {}) };
}
