import cluster, { type Worker } from 'node:cluster';

/**
 * What node:cluster's primary module has and its worker module (lib/internal/cluster/child.js)
 * lacks. Without NODE_UNIQUE_ID, which clusterize does not set (Node's child.js would then
 * take over listen()), a worker loads the primary module.
 */
const PRIMARY_ONLY = ['fork', 'workers', 'settings', 'setupPrimary', 'setupMaster', 'disconnect', 'schedulingPolicy', 'SCHED_NONE', 'SCHED_RR'];

/** A node:cluster Worker as Node builds it: with a `state` its typings leave out. */
export type NodeClusterWorker = Worker & { state: string };

type NodeCluster = Record<string, unknown> & { Worker: new (options: { id: number; state: string }) => NodeClusterWorker };

/** What the view needs of the worker runtime. */
export interface RuntimeForView {
  readonly id: number;
  drain(timeout: number): Promise<void>;
}

/**
 * Makes node:cluster (one object for `require` and `import`) look, to the app and its
 * libraries, as in a node:cluster worker: `isWorker` true, `isPrimary` and `isMaster`
 * false, no primary-only members, and `cluster.worker` a `cluster.Worker` with this
 * worker's id and `process`, whose `send()` is `process.send()` and whose 'message' event
 * carries what the primary sends this worker. Built for libraries that test `isWorker` or
 * talk through `cluster.worker` (@express-rate-limit/cluster-memory-store, prom-client,
 * throng).
 *
 * `disconnect()` drains the worker as SIGTERM does (Node's closes the servers and lets the
 * process end), `destroy()` and `kill()` drain it with no time for requests (Node's exits
 * at once); the primary then replaces it, as any worker that leaves on its own.
 */
export function presentNodeClusterWorker(runtime: RuntimeForView, shutdownTimeout: number): void {
  const module = cluster as unknown as NodeCluster;
  for (const name of PRIMARY_ONLY) delete module[name];
  const worker = new module.Worker({ id: runtime.id, state: 'online' });
  worker.process = process as unknown as Worker['process'];
  forwardMessagesOnDemand(worker);
  worker.disconnect = function disconnect(this: NodeClusterWorker) {
    if (this.state === 'online') {
      this.state = 'disconnecting';
      this.exitedAfterDisconnect = true;
      void runtime.drain(shutdownTimeout);
    }
    return this;
  };
  worker.destroy = function destroy(this: NodeClusterWorker) {
    this.state = 'destroying';
    this.exitedAfterDisconnect = true;
    void runtime.drain(0);
  };
  Object.assign(module, { isWorker: true, isPrimary: false, isMaster: false, worker });
}

/**
 * process 'message' reaches the worker's 'message' once something listens there. A
 * listener on `process` holds the IPC channel open and takes the messages child_process
 * keeps until the first one (lib/internal/child_process.js): adding it on demand leaves
 * both as they were for apps that never listen on `cluster.worker`.
 */
function forwardMessagesOnDemand(worker: Worker): void {
  worker.on('newListener', function first(event: string | symbol) {
    if (event !== 'message') return;
    worker.off('newListener', first);
    process.on('message', (message, handle) => worker.emit('message', message, handle));
  });
}
