import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { clusterizeError } from '../errors.js';
import { METRICS_CONTENT_TYPE } from './prom-client.js';
import { loopDelay } from '../protocol.js';
import { bool, int, literal, measure, nullable, shape, type TypeOf } from '../schema.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import type { WorkerProcess } from '../supervision/worker-process.js';

/** Connections the admin server holds open at once; Node closes any past it as it accepts it. */
export const ADMIN_MAX_CONNECTIONS = 64;
/** An idle keep-alive connection, or one that has not sent its request head, is closed after this. */
export const ADMIN_IDLE_TIMEOUT_MS = 5_000;
/** A request whose body is still arriving after this is answered 408 and its connection closed. */
export const ADMIN_REQUEST_TIMEOUT_MS = 10_000;
/** How often Node looks for connections past the header and request timeouts (its default is 30 s). */
const TIMEOUT_CHECK_MS = 1_000;

/** One worker as GET /workers lists it (and `clusterize status`, which checks what it reads against this). */
export const workerReport = shape({
  id: int(),
  /** Its place in the cluster, 0 to workers - 1, which a replacement takes over. */
  slot: int(),
  pid: nullable(int(1)),
  state: literal('starting', 'online', 'listening', 'ready', 'draining', 'exited'),
  /** Epoch milliseconds. */
  startedAt: int(),
  readyAt: nullable(int()),
  /** Resident memory in bytes at the last heartbeat. */
  rss: nullable(measure),
  /** Event-loop delay (ms) over the last heartbeat interval. */
  loopDelay: nullable(loopDelay),
  connections: int(),
  /** Its inspector was open at the last heartbeat: a debugger may pause it, and it is not killed as hung for that. */
  inspector: bool,
});

export type WorkerReport = TypeOf<typeof workerReport>;

export function reportOf(worker: WorkerProcess): WorkerReport {
  return {
    id: worker.id,
    slot: worker.slot,
    pid: worker.pid ?? null,
    state: worker.state,
    startedAt: worker.startedAt,
    readyAt: worker.readyAt ?? null,
    rss: worker.rss ?? null,
    loopDelay: worker.loopDelay ?? null,
    connections: worker.connections,
    inspector: worker.inspectorOpen,
  };
}

/** What the admin server shows; the cluster provides it. */
interface AdminSource {
  metrics(): Promise<string>;
  /** At least one worker gets connections and the cluster is not shutting down. */
  ready(): boolean;
  workers(): WorkerReport[];
}

type Route = (response: http.ServerResponse) => void | Promise<void>;

/**
 * The primary's own HTTP server for operators: metrics, probes and the worker table, on a
 * port of its own (loopback by default) so that it never serves, or is served by, the app.
 *
 * Its connections take descriptors from the primary's own limit (RLIMIT_NOFILE), which the
 * data path shares: the listening sockets, every connection the primary dispatches, and
 * the pipes of each fork. Unbounded, 1,100 idle connections to it under `ulimit -n 1024`
 * stopped /livez, left the main port serving nothing, and made every replacement fork fail
 * with EMFILE. So it holds at most ADMIN_MAX_CONNECTIONS (a probe or a scrape needs one for
 * milliseconds; past the cap Node closes a connection as it accepts it), and a client that
 * sits idle or sends slowly loses its connection after ADMIN_IDLE_TIMEOUT_MS, or
 * ADMIN_REQUEST_TIMEOUT_MS for the whole request.
 */
export class AdminServer {
  private readonly server: http.Server;
  private readonly routes: Record<string, Route>;
  private readonly warnings: RateLimitedLog;

  constructor(source: AdminSource, private readonly log: (line: string) => void) {
    this.routes = {
      '/metrics': async (response) => send(response, 200, METRICS_CONTENT_TYPE, await source.metrics()),
      // Answering at all proves the primary's event loop runs.
      '/livez': (response) => send(response, 200, 'text/plain; charset=utf-8', 'ok\n'),
      '/readyz': (response) => {
        const ready = source.ready();
        send(response, ready ? 200 : 503, 'text/plain; charset=utf-8', ready ? 'ready\n' : 'not ready\n');
      },
      '/workers': (response) => send(response, 200, 'application/json', `${JSON.stringify(source.workers())}\n`),
    };
    this.server = http.createServer({
      keepAliveTimeout: ADMIN_IDLE_TIMEOUT_MS,
      headersTimeout: ADMIN_IDLE_TIMEOUT_MS,
      requestTimeout: ADMIN_REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
    }, (request, response) => void this.serve(request, response));
    this.server.maxConnections = ADMIN_MAX_CONNECTIONS;
    this.warnings = new RateLimitedLog(log);
    this.server.on('drop', () => this.warnings.write('drop',
      () => `clusterize: the admin server has ${ADMIN_MAX_CONNECTIONS} connections open (its cap); closing new ones until some close`,
      (count) => `clusterize: the admin server closed ${count} ${count === 1 ? 'connection' : 'connections'} past its cap of ${ADMIN_MAX_CONNECTIONS} in the last second`));
  }

  /** Listens on host:port; rejects with ERR_CLUSTERIZE_ADMIN_LISTEN when it cannot. */
  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) => {
        reject(clusterizeError('ERR_CLUSTERIZE_ADMIN_LISTEN', `${host}:${port}: ${error.code ?? error.message}`, error));
      });
      this.server.listen(port, host, () => resolve(this.server.address() as AddressInfo));
    });
  }

  close(): Promise<void> {
    if (!this.server.listening) return Promise.resolve();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async serve(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://admin').pathname;
    const route = Object.hasOwn(this.routes, path) ? this.routes[path] : undefined;
    if (route === undefined) return send(response, 404, 'text/plain; charset=utf-8', 'not found\n');
    if (request.method !== 'GET') {
      response.setHeader('allow', 'GET');
      return send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    try {
      await route(response);
    } catch (error) {
      this.log(`clusterize: the admin server failed to answer ${path}: ${(error as Error)?.stack ?? String(error)}`);
      if (!response.headersSent) send(response, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else response.destroy();
    }
  }
}

function send(response: http.ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
