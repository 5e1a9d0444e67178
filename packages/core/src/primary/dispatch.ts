import { getSystemErrorName } from 'node:util';
import { closeStray, deliverWorkerMessage, isOurs, LOAD_REPORT_MS, verifyWorkerMessage, type ListenQuery, type Sockname, type Transport, type WorkerMessageHandlers } from '../protocol.js';
import type { HealthMonitor } from '../supervision/health.js';
import type { ListenerRegistry } from '../listeners/listener-registry.js';
import type { MetricsCollector } from '../admin/metrics-collector.js';
import type { Policy } from '../listeners/policies/index.js';
import type { Leadership } from './leadership.js';
import type { ClusterMessaging } from './messaging.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import type { Supervisor } from '../supervision/supervisor.js';
import type { WorkerProcess } from '../supervision/worker-process.js';

export interface ListenError {
  code: string;
  address: string | null;
  port: number;
}

/** What the dispatcher tells the cluster's public side. */
interface DispatchEvents {
  online(worker: WorkerProcess): void;
  listening(worker: WorkerProcess, address: Sockname | string): void;
  listenError(worker: WorkerProcess, error: ListenError): void;
}

interface DispatchContext {
  readonly policy: Policy;
  readonly registry: ListenerRegistry;
  readonly supervisor: Supervisor;
  readonly health: HealthMonitor;
  readonly metrics: MetricsCollector;
  readonly messaging: ClusterMessaging<unknown>;
  readonly leadership: Leadership;
  readonly events: DispatchEvents;
  /** TLS session-ticket keys every worker's TLS servers share. */
  readonly ticketKeys: string;
  log(line: string): void;
}

/**
 * Routes each protocol message from a worker, once its token and shape are checked, to its
 * handler. Handlers record facts (a worker listens, is ready, drains, answered a ping) and
 * leave every decision about forking, retiring, killing and routing workers to the
 * supervisor's plan.
 */
export function createDispatcher(context: DispatchContext): (worker: WorkerProcess, message: unknown, handle: unknown) => void {
  const { policy, registry, supervisor, health, metrics, messaging, leadership, events, ticketKeys, log } = context;

  const listenFailed = (worker: WorkerProcess, query: ListenQuery, errno: number) => {
    const error = { code: getSystemErrorName(errno), address: query.address, port: query.port };
    worker.couldNotListen(`${describeAddress(query)}: ${error.code}`);
    log(`clusterize: worker ${worker.id} could not listen on ${describeAddress(query)}: ${error.code}`);
    events.listenError(worker, error);
  };

  const handlers: WorkerMessageHandlers<WorkerProcess> = {
    hello: (worker) => {
      if (!worker.cameOnline()) return;
      supervisor.cameOnline(worker);
      events.online(worker);
    },
    listen: (worker, { seq, query }) => {
      const acquired = registry.acquire(worker, query);
      const listener = acquired.listener;
      worker.post({
        act: 'listening', seq, errno: acquired.errno, key: listener?.key ?? '',
        transport: listener?.transport ?? policy.transport, sockname: listener?.sockname ?? null,
        reportLoad: reportLoadFor(listener?.transport, policy),
        ticketKeys,
      }, listener?.handleForListen());
      if (listener === undefined) return listenFailed(worker, query, acquired.errno);
      events.listening(worker, listener.sockname ?? query.address ?? '');
      // A worker that is ready already is routed here too (or held back, for a newer release).
      if (worker.phase === 'ready' || worker.phase === 'serving') supervisor.requestReconcile();
    },
    unlisten: (worker, { key }) => registry.release(worker, key),
    listenFailed: (worker, { key, errno }) => {
      const query = registry.get(key)?.query;
      registry.release(worker, key);
      if (query !== undefined) listenFailed(worker, query, errno);
    },
    ready: (worker) => {
      // On a shared socket a worker is announced once it says it accepts there.
      const shared = [...worker.keys].filter((key) => {
        const transport = registry.get(key)?.transport;
        return transport !== undefined && transport !== 'forward';
      });
      if (!worker.saidReady(shared)) return;
      // The plan routes it on each listener; a worker served only by forwarding is ready now.
      supervisor.requestReconcile();
      if (worker.announceable) supervisor.becameReady(worker);
    },
    accepting: (worker, { key }) => {
      if (worker.acceptsOn(key)) supervisor.becameReady(worker);
    },
    paused: (worker, { key }) => supervisor.pauseConfirmed(worker, key),
    acks: (worker, acks) => {
      worker.reported({ connections: acks.connections });
      registry.acknowledge(worker, acks);
      registry.loadChanged(worker);
    },
    passBack: (worker, { key, connections }, client) => {
      const listener = registry.get(key);
      if (client === undefined) return;
      if (listener === undefined) return client.close();
      listener.passedBack(worker, client, connections);
    },
    draining: (worker) => supervisor.drainedBySelf(worker),
    cut: (worker, { connections }) => supervisor.cutAtDeadline(worker, connections),
    pong: (worker, { seq, rss, delay, connections, accepted, inspector }) => {
      worker.reported({ rss, loopDelay: delay, connections, accepted, inspector: inspector === true });
      health.answered(worker, seq);
      registry.loadChanged(worker);
    },
    metrics: (worker, { seq, json }) => metrics.answered(worker, seq, json),
    finalMetrics: (worker, { json }) => metrics.final(worker, json),
    metricsRequest: (worker, { seq }) => {
      metrics.text().then((text) => worker.post({ act: 'clusterMetrics', seq, text }),
        (error: unknown) => log(`clusterize: could not collect metrics for worker ${worker.id}: ${(error as Error)?.stack ?? String(error)}`));
    },
    publish: (worker, { topic, data }) => messaging.published(worker, topic, data),
    request: (worker, { seq, name, data }) => messaging.requested(worker, seq, name, data),
    leadWanted: (worker, { name }) => leadership.wanted(worker, name),
    leadWithdrawn: (worker, { name }) => leadership.withdrawn(worker, name),
    leadEnded: (worker, { name, term }) => leadership.ended(worker, name, term),
  };

  const warnings = new WeakMap<WorkerProcess, RateLimitedLog>();
  const ignored = (worker: WorkerProcess, kind: string, reason: string) => {
    let warn = warnings.get(worker);
    if (warn === undefined) warnings.set(worker, warn = new RateLimitedLog(log));
    const who = `worker ${worker.id} (pid ${worker.pid})`;
    warn.write(kind, () => `clusterize: ignored a message from ${who}: ${reason}`,
      (count) => `clusterize: ignored ${count} ${count === 1 ? 'message' : 'messages'} from ${who} in the last second: ${kind}`);
  };

  return (worker, message, handle) => {
    if (!isOurs(message)) return;
    const verdict = verifyWorkerMessage(message, worker.token, handle);
    if (!verdict.ok) {
      closeStray(handle);
      return ignored(worker, verdict.kind, verdict.reason);
    }
    try {
      deliverWorkerMessage(handlers, worker, verdict.message, handle);
    } catch (error) {
      log(`clusterize: error handling '${verdict.message.act}' from worker ${worker.id}: ${(error as Error)?.stack ?? String(error)}`);
    }
  };
}

/** Shared sockets are balanced by each worker's cap, which follows the open connections. */
function reportLoadFor(transport: Transport | undefined, policy: Policy): number {
  if (transport === undefined) return 0;
  if (transport === 'forward') return policy.reportsLoad === true ? LOAD_REPORT_MS.forward : 0;
  return LOAD_REPORT_MS.shared;
}

function describeAddress(query: ListenQuery): string {
  if (query.port === -1) return String(query.address);
  return query.addressType === 6 ? `[${query.address}]:${query.port}` : `${query.address ?? '*'}:${query.port}`;
}
