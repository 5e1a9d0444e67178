import type { Publisher } from './message-types.js';
import { checkFunction, checkName } from './payload.js';

export type Handler = (data: unknown, from: Publisher) => unknown;

/** The handlers subscribed to each topic in this process (a worker, or the primary). */
export class Subscriptions {
  private readonly topics = new Map<string, Set<Handler>>();

  /** Subscribes `handler` to `topic`; returns the function that unsubscribes. Each call is a subscription of its own. */
  add(topic: string, handler: Handler): () => void {
    checkName(topic, 'a topic');
    checkFunction(handler, 'a subscriber');
    let handlers = this.topics.get(topic);
    if (handlers === undefined) this.topics.set(topic, handlers = new Set());
    const subscription: Handler = (data, from) => handler(data, from);
    handlers.add(subscription);
    return () => {
      handlers.delete(subscription);
      if (handlers.size === 0 && this.topics.get(topic) === handlers) this.topics.delete(topic);
    };
  }

  /** A copy of `topic`'s handlers (one may unsubscribe another while they run), or undefined when it has none. */
  of(topic: string): Handler[] | undefined {
    const handlers = this.topics.get(topic);
    return handlers === undefined ? undefined : [...handlers];
  }
}
