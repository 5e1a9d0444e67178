import type { ClientHandle } from '../node-internals.js';
import type { PrimaryMessage } from '../protocol.js';
import type { WorkerProcess } from '../supervision/worker-process.js';
import type { Target } from './policies/index.js';

/**
 * Hand-offs: a connection the primary holds, given to a worker over IPC with its
 * descriptor. This module keeps each worker's unacknowledged ones, and its doc is the one
 * place that says what happens to a connection when its worker dies, for every transport.
 *
 * - **forward** (round-robin, least-connections, sticky): the primary accepts. It keeps its
 *   copy of the descriptor until the worker acknowledges the hand-off (`acks`). A worker
 *   that exits, crashes or is killed with hand-offs unacknowledged gives them back
 *   (ForwardingListener.forget): they go to the front of the queue and on to another worker,
 *   or wait for the next one ready, with the client's PROXY protocol address if it sent one.
 *   A draining worker refuses new hand-offs, which go to another worker; one whose server
 *   is at maxConnections too, or they wait for room (queueTimeout); one that never received
 *   the descriptor (the worker was out of descriptors) is never sent to it again. An
 *   acknowledged connection is the worker's: if the worker dies while serving it, the
 *   client sees the connection end, as with any server that crashes.
 * - **shared**: every worker accepts on the primary's one listening socket. Connections
 *   still in the kernel's accept queue when a worker dies stay there for the others and
 *   its replacement (the primary keeps the socket open even with no worker left). A
 *   worker above its share passes new connections back to the primary, which hands them
 *   on as above; a draining worker exits only once those messages are written (see
 *   worker/sends-in-flight.ts), after which the kernel holds the descriptor in the channel
 *   for the primary, whatever the worker does next.
 * - **reuseport**: each worker accepts on its own SO_REUSEPORT socket. A draining worker
 *   closes its socket first, so the kernel sends new connections to the others, and serves
 *   what it accepted. A worker that crashes loses what was in its own socket's accept queue
 *   (the kernel resets those connections): the one case where a crash costs connections no
 *   worker accepted, and why `shared` is the default.
 *
 * A connection handed to a worker is named by an id, unique across listeners, that its
 * acknowledgement carries back.
 */
export class WorkerTarget implements Target {
  private readonly pendingHandoffs = new Map<number, ClientHandle>();
  private static nextId = 0;
  /**
   * Its server turned a hand-off away at maxConnections and has not reported room since:
   * connections waiting for room are not sent to it.
   */
  full = false;

  constructor(readonly worker: WorkerProcess) {}

  get id(): number {
    return this.worker.id;
  }

  get pending(): number {
    return this.pendingHandoffs.size;
  }

  get connections(): number {
    return this.worker.connections;
  }

  get slot(): number {
    return this.worker.slot;
  }

  get generation(): number {
    return this.worker.generation;
  }

  /** Sends `client` with the message `message(id)` makes; false (and nothing kept) when the worker's channel is gone. */
  handOff(client: ClientHandle, message: (id: number) => PrimaryMessage): boolean {
    const id = ++WorkerTarget.nextId;
    this.pendingHandoffs.set(id, client);
    if (this.worker.post(message(id), client)) return true;
    this.pendingHandoffs.delete(id);
    return false;
  }

  /** The hand-off is settled (taken, refused, lost): it is no longer pending here. */
  take(id: number): ClientHandle | undefined {
    const client = this.pendingHandoffs.get(id);
    if (client !== undefined) this.pendingHandoffs.delete(id);
    return client;
  }

  /** The worker is gone: every hand-off it never acknowledged, oldest first, is the primary's again. */
  takeAll(): ClientHandle[] {
    const clients = [...this.pendingHandoffs.values()];
    this.pendingHandoffs.clear();
    return clients;
  }
}
