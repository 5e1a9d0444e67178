import { clusterizeError, clusterizeRangeError, clusterizeTypeError } from '../errors.js';
import type { Publisher, RequestOptions } from '../message-types.js';
import { MAX_TIMER_MS } from '../option-checks.js';
import { checkName, decode, encode } from '../payload.js';
import type { RequestError, WorkerMessage } from '../protocol.js';
import { Subscriptions } from '../subscriptions.js';
import { intoApp } from './guard.js';

/** How long request() waits for its reply unless told otherwise. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

interface Pending {
  name: string;
  resolve(reply: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * A worker's side of publish/subscribe and request/reply. Both travel through the primary
 * on clusterize's own channel: a publish comes back to every worker, this one included, in
 * the order the primary got them, so every subscriber sees one topic's messages in the
 * same order.
 */
export class WorkerMessaging {
  private readonly subscriptions = new Subscriptions();
  private readonly pending = new Map<number, Pending>();
  private seq = 0;

  /** `send` is false when the channel to the primary is gone; `maxBytes`: maxMessageSize, in bytes. */
  constructor(private readonly send: (message: WorkerMessage) => boolean, private readonly maxBytes: number) {}

  publish(topic: string, data: unknown): void {
    const what = `publish('${checkName(topic, 'a topic')}')`;
    const json = encode(data, this.maxBytes, what);
    if (!this.send({ act: 'publish', topic, data: json })) throw primaryGone(what);
  }

  subscribe(topic: string, handler: (data: unknown, from: Publisher) => void): () => void {
    return this.subscriptions.add(topic, handler);
  }

  request(name: string, payload: unknown, options: RequestOptions = {}): Promise<unknown> {
    const what = `request('${checkName(name, 'a request name')}')`;
    const timeout = checkTimeout(options?.timeout);
    const json = encode(payload, this.maxBytes, what);
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(clusterizeError('ERR_CLUSTERIZE_REQUEST_TIMEOUT', `${what}: no reply from the primary within ${timeout} ms`));
      }, timeout);
      this.pending.set(seq, { name, resolve, reject, timer });
      if (!this.send({ act: 'request', seq, name, data: json })) this.settle(seq, (pending) => pending.reject(primaryGone(what)));
    });
  }

  /** A publish reached this worker: each subscriber of its topic gets it, as app code (what it throws stays uncaught). */
  delivered(topic: string, json: string | undefined, from: number): void {
    const handlers = this.subscriptions.of(topic);
    if (handlers === undefined) return;
    const data = decode(json);
    const publisher: Publisher = from === 0 ? 'primary' : from;
    for (const handler of handlers) intoApp(() => void handler(data, publisher));
  }

  answered(seq: number, json: string | undefined, error: RequestError | undefined): void {
    this.settle(seq, (pending) => (error === undefined ? pending.resolve(decode(json)) : pending.reject(replyError(pending.name, error))));
  }

  /** The channel closed: no reply can come any more. */
  primaryGone(): void {
    for (const [seq, { name }] of this.pending) this.settle(seq, (pending) => pending.reject(primaryGone(`request('${name}')`)));
  }

  private settle(seq: number, how: (pending: Pending) => void): void {
    const pending = this.pending.get(seq);
    if (pending === undefined) return;
    this.pending.delete(seq);
    clearTimeout(pending.timer);
    how(pending);
  }
}

function checkTimeout(timeout: unknown): number {
  if (timeout === undefined) return DEFAULT_REQUEST_TIMEOUT_MS;
  if (typeof timeout !== 'number') throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_ARGUMENT', `a request's timeout must be a number of milliseconds, got ${typeof timeout}`);
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > MAX_TIMER_MS) {
    throw clusterizeRangeError('ERR_CLUSTERIZE_INVALID_ARGUMENT', `a request's timeout must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}, got ${timeout}`);
  }
  return timeout;
}

function primaryGone(what: string): Error {
  return clusterizeError('ERR_CLUSTERIZE_PRIMARY_GONE', `${what}: this worker has lost its primary`);
}

/** The coded error a failed reply stands for; what a handler threw is its `cause`. */
function replyError(name: string, { code, message, thrown }: RequestError): Error {
  const cause = thrown === undefined ? undefined : Object.assign(new Error(thrown.message), { name: thrown.name }, thrown.code === undefined ? {} : { code: thrown.code });
  return clusterizeError(code, `request('${name}'): ${message}`, cause);
}
