// Load from autocannon, measured from its clients' events rather than from its result:
// with `reconnectRate: 1` (a new connection per request) autocannon 9 ends the connection
// before it records the response, so its own counts and latencies read zero; and with
// `Connection: close` it queues a request on the closing socket every time, which inflates
// its latencies by the queue's length. The events below see every request and response.
import type { EventEmitter } from 'node:events';
import autocannon from 'autocannon';
import { SOCKET_ID_HEADER, SOCKET_REQUESTS_HEADER, WORKER_HEADER } from './apps/serve.ts';
import { proxyV2Header, sendProxyHeaders } from './proxy-header.ts';

export interface LoadOptions {
  port: number;
  connections: number;
  /** Upper bound; `stop()` ends the load earlier. */
  seconds: number;
  /** A new TCP connection for every request. */
  churn: boolean;
  /** The path of each request (default '/'). */
  path?: () => string;
  timeoutSeconds?: number;
  /**
   * Where a response names the pid that served it: the bench apps' header (default), or the
   * `pid` field of a JSON body (the examples). Bodies are seen on keep-alive connections only.
   */
  pidFrom?: 'header' | 'body';
  /** Every connection starts with a PROXY protocol v2 header, each from another made-up client address. */
  proxyProtocol?: boolean;
  /** Called with each response's worker pid and connection id (bench/apps/serve.ts's headers; '' where missing). */
  onResponse?: (pid: string, socketId: string) => void;
}

export interface Measured {
  seconds: number;
  responses: number;
  requestsPerSecond: number;
  /** Latency percentiles in milliseconds, a new connection's connect time included. */
  p50: number;
  p99: number;
  non2xx: number;
  socketErrors: number;
  timeouts: number;
  /** non-2xx responses + socket errors + timeouts. */
  errors: number;
  /** Responses by the pid of the process that served them. */
  perWorker: Record<string, number>;
  /** Responses that were the first on their connection, i.e. the connections served. */
  connections: number;
}

export interface RunningLoad {
  stop(): void;
  readonly done: Promise<Measured>;
}

/** The parsed response head autocannon's client emits as 'headers' (@types/autocannon says otherwise). */
interface ResponseHead {
  statusCode: number;
  headers: string[];
}

export function startLoad(options: LoadOptions): RunningLoad {
  const latencies: number[] = [];
  const perWorker: Record<string, number> = {};
  let non2xx = 0;
  let socketErrors = 0;
  let timeouts = 0;
  let connections = 0;
  const count = (pid: string) => {
    perWorker[pid] = (perWorker[pid] ?? 0) + 1;
  };
  const fromBody = options.pidFrom === 'body';
  const onResponse = options.onResponse;
  if (fromBody && onResponse) throw new Error('onResponse reads the pid from the headers');
  if (fromBody && options.churn) throw new Error('autocannon reports no body when each request has its own connection');
  let connectionsOpened = 0;
  const setupClient = (client: autocannon.Client) => {
    if (options.proxyProtocol === true) sendProxyHeaders(client, () => proxyV2Header(connectionsOpened++, options.port));
    let sentAt = 0;
    const events = client as unknown as EventEmitter;
    events.on('request', () => {
      sentAt = performance.now();
    });
    events.on('headers', (head: ResponseHead) => {
      latencies.push(performance.now() - sentAt);
      if (head.statusCode < 200 || head.statusCode > 299) non2xx++;
      let pid = '';
      let socketId = '';
      for (let i = 0; i + 1 < head.headers.length; i += 2) {
        const name = head.headers[i]!.toLowerCase();
        const value = head.headers[i + 1]!;
        if (name === WORKER_HEADER && !fromBody) {
          pid = value;
          count(pid);
        } else if (name === SOCKET_REQUESTS_HEADER && value === '1') connections++;
        else if (name === SOCKET_ID_HEADER) socketId = value;
      }
      onResponse?.(pid, socketId);
    });
    events.on('connError', () => socketErrors++);
    events.on('timeout', () => timeouts++);
  };
  const path = options.path;
  const request = {
    ...(path ? { setupRequest: (req: autocannon.Request) => ({ ...req, path: path() }) } : {}),
    ...(fromBody ? { onResponse: (_status: number, body: string) => count(pidIn(body)) } : {}),
  };
  const startedAt = performance.now();
  const { promise, resolve, reject } = Promise.withResolvers<Measured>();
  const instance = autocannon({
    url: `http://127.0.0.1:${options.port}`,
    connections: options.connections,
    duration: options.seconds,
    timeout: options.timeoutSeconds ?? 10,
    ...(options.churn ? { reconnectRate: 1 } : {}),
    ...(Object.keys(request).length > 0 ? { requests: [request] } : {}),
    setupClient,
  }, (error) => {
    if (error) return reject(error);
    const seconds = (performance.now() - startedAt) / 1000;
    const sorted = Float64Array.from(latencies).sort();
    const errors = non2xx + socketErrors + timeouts;
    resolve({
      seconds,
      responses: latencies.length,
      requestsPerSecond: latencies.length / seconds,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      non2xx, socketErrors, timeouts, errors, perWorker, connections,
    });
  });
  return { stop: () => instance.stop(), done: promise };
}

export function measureLoad(options: LoadOptions): Promise<Measured> {
  return startLoad(options).done;
}

function pidIn(body: string): string {
  try {
    return String((JSON.parse(body) as { pid?: unknown }).pid ?? 'none');
  } catch {
    return 'none';
  }
}

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}
