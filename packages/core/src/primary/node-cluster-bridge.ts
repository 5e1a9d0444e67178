import type { ChildProcess } from 'node:child_process';
import cluster from 'node:cluster';
import type { EventEmitter } from 'node:events';
import { signalChild } from '../supervision/signal-child.js';
import type { NodeClusterWorker } from '../worker/node-cluster-view.js';

type PrimaryModule = EventEmitter & {
  readonly isPrimary: boolean;
  workers: Record<number, NodeClusterWorker>;
  Worker: new (options: { id: number; state: string }) => NodeClusterWorker;
};

/**
 * `message` as the channel will carry it (Node's 'json' serialization), copied now. Behind
 * a handle in flight (a connection handed to the worker) child_process queues the message
 * object itself and serializes it only once the handle is acknowledged: a live object sent
 * meanwhile, such as the counter express-rate-limit's MemoryStore returns, would go out
 * with what later requests made of it. Objects only: anything else is sent as it is, and
 * Node's own checks see it.
 */
function asSent(message: unknown): unknown {
  return message !== null && typeof message === 'object' ? JSON.parse(JSON.stringify(message)) as unknown : message;
}

/**
 * node:cluster in the primary, for code written for it (a --primary-module, the primary side
 * of a script that runs in both roles): `cluster.workers` holds a `cluster.Worker` for each
 * clusterize worker from its fork to its exit, keyed by its id, with its ChildProcess as
 * `process`; what a worker's app sends with `process.send()` reaches that worker's 'message'
 * and `cluster.on('message', (worker, message, handle))`, and `worker.send()` reaches the
 * app's `process.on('message')`. 'fork' and 'exit' are emitted as node:cluster does.
 * clusterize's own messages travel as internal messages and never show here.
 *
 * `worker.send()` copies the message as it is when sent (see asSent).
 * `cluster.fork()` stays node:cluster's own: a process it starts is no clusterize worker.
 * A worker's `disconnect()` sends it SIGTERM (it drains), `kill(signal)` and
 * `destroy(signal)` send it `signal` (default SIGTERM): the cluster then replaces it, as any
 * worker that leaves on its own.
 */
export class NodeClusterBridge {
  readonly #module = cluster as unknown as PrimaryModule;
  readonly #workers = new Map<number, NodeClusterWorker>();
  /** A clusterize primary that is itself a node:cluster worker (PM2's cluster mode) has no `workers` to fill. */
  readonly #active = this.#module.isPrimary;

  constructor(private readonly log: (line: string) => void) {}

  /** Worker `id` was forked as `child`. */
  forked(id: number, child: ChildProcess): void {
    if (!this.#active) return;
    const worker = new this.#module.Worker({ id, state: 'online' });
    worker.process = child;
    worker.send = (message: unknown, ...rest: unknown[]) => (child.send as (...args: unknown[]) => boolean)(asSent(message), ...rest);
    worker.disconnect = function disconnect(this: NodeClusterWorker) {
      this.exitedAfterDisconnect = true;
      signalChild(child, 'SIGTERM');
      return this;
    };
    worker.destroy = function destroy(this: NodeClusterWorker, signal: NodeJS.Signals = 'SIGTERM') {
      this.exitedAfterDisconnect = true;
      signalChild(child, signal);
    };
    // A turn of its own for each message (microtasks run between immediates): child_process
    // emits every message of one read before any promise continuation, so a handler that
    // awaits before it answers would answer a burst with what the whole burst did (under
    // node:cluster, ClusterMemoryStorePrimary let 7 to 10 of 40 concurrent requests through
    // a limit of 10).
    child.on('message', (message: unknown, handle: unknown) => setImmediate(() => {
      this.emit(worker, 'message', message, handle);
      this.emit(this.#module, 'message', worker, message, handle);
    }));
    this.#workers.set(id, worker);
    this.#module.workers[id] = worker;
    this.emit(this.#module, 'fork', worker);
  }

  /** Worker `id` is gone (exited, or its spawn failed). */
  exited(id: number, code: number | null, signal: NodeJS.Signals | null): void {
    const worker = this.#workers.get(id);
    if (worker === undefined) return;
    this.#workers.delete(id);
    // Two clusters in one process share node:cluster: leave another's worker of the same id.
    if (this.#module.workers[id] === worker) delete this.#module.workers[id];
    worker.state = 'dead';
    this.emit(worker, 'exit', code, signal);
    this.emit(this.#module, 'exit', worker, code, signal);
  }

  /** Emits to the app's listeners; one that throws is logged and never breaks the runtime. */
  private emit(target: EventEmitter, event: string, ...args: unknown[]): void {
    try {
      target.emit(event, ...args);
    } catch (error) {
      this.log(`clusterize: a node:cluster '${event}' listener threw: ${(error as Error)?.stack ?? String(error)}`);
    }
  }
}
