import autocannon from 'autocannon';
import type { EventEmitter } from 'node:events';
import http from 'node:http';

export interface LoadResult {
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Worker pids seen in the x-worker-pid response header. */
  pids: Set<string>;
}

type HeadersEvent = { headers: string[] };

/** Keep-alive load from autocannon until `until` settles (at most `maxSeconds`). */
export async function keepAliveLoadWhile(port: number, until: Promise<unknown>, options: { connections?: number; path?: string; maxSeconds?: number } = {}): Promise<LoadResult> {
  const pids = new Set<string>();
  const { promise: finished, resolve, reject } = Promise.withResolvers<autocannon.Result>();
  const instance = autocannon({
    url: `http://127.0.0.1:${port}${options.path ?? '/'}`,
    connections: options.connections ?? 20,
    duration: options.maxSeconds ?? 60,
    timeout: 10,
    setupClient: (client) => {
      // The 'headers' event carries llhttp's raw [name, value, ...] list (the typings say otherwise).
      (client as EventEmitter).on('headers', ({ headers }: HeadersEvent) => {
        for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === 'x-worker-pid') pids.add(headers[i + 1]!);
      });
    },
  }, (error: Error | null, result: autocannon.Result) => (error ? reject(error) : resolve(result)));
  await until.finally(() => instance.stop());
  const result = await finished;
  return { requests: result.requests.total, non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts, pids };
}

/**
 * Connection churn: `concurrency` loops, each sending one request per new connection
 * (autocannon 9 cannot do this: its reconnectRate drops the response it reconnects on),
 * until `until` settles (at most `maxSeconds`). Every failure is counted.
 */
export async function churnLoadWhile(port: number, until: Promise<unknown>, options: { concurrency?: number; path?: string; maxSeconds?: number } = {}): Promise<LoadResult> {
  const result: LoadResult = { requests: 0, non2xx: 0, errors: 0, timeouts: 0, pids: new Set() };
  let running = true;
  const stop = setTimeout(() => { running = false; }, (options.maxSeconds ?? 60) * 1000);
  void until.finally(() => { running = false; });
  const once = () => new Promise<void>((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: options.path ?? '/', agent: false, headers: { connection: 'close' }, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => {
        result.requests++;
        if (res.statusCode! < 200 || res.statusCode! > 299) result.non2xx++;
        const pid = res.headers['x-worker-pid'];
        if (typeof pid === 'string') result.pids.add(pid);
        resolve();
      });
      res.on('error', () => { result.errors++; resolve(); });
    });
    req.on('timeout', () => { result.timeouts++; req.destroy(); });
    req.on('error', () => { result.errors++; resolve(); });
  });
  const loop = async () => {
    while (running) await once();
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 10 }, loop));
  clearTimeout(stop);
  return result;
}
