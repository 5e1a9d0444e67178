import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { watchOutput } from './internal-errors.ts';

export const CLI = fileURLToPath(new URL('../packages/core/bin/clusterize.js', import.meta.url));
export const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

export interface Running {
  child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Resolves when the output matches, rejects after `timeout` ms or when the process exits. */
  waitFor(pattern: RegExp, timeout?: number): Promise<RegExpMatchArray>;
  /** As waitFor, once the output has `count` matches of `pattern`; resolves with all of them. */
  waitForCount(pattern: RegExp, count: number, timeout?: number): Promise<RegExpMatchArray[]>;
  /** Resolves with the exit code (or 128 + signal number) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * Ends the process as an operator would: SIGTERM (a primary drains and exits, and every
   * process writes its coverage), SIGKILL if it is still there after `grace` ms.
   */
  close(grace?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts `node <args>` and collects its output; `detached` gives it a process group of its own. */
export function run(args: string[], options: { env?: Record<string, string>; cwd?: string; detached?: boolean } = {}): Running {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  running.add(child);
  let output = '';
  watchOutput(`node ${args.map((arg) => basename(arg)).join(' ')} (pid ${child.pid})`, () => output);
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      for (const listener of listeners) listener();
      resolve({ code, signal });
    });
  });
  const waitUntil = <T>(found: (output: string) => T | undefined, what: string, timeout: number) => new Promise<T>((resolve, reject) => {
    const check = () => {
      const result = found(output);
      if (result !== undefined) return done(() => resolve(result));
      if (child.exitCode !== null || child.signalCode !== null) {
        done(() => reject(new Error(`process exited before printing ${what}; output:\n${output}`)));
      }
    };
    const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${what}; output:\n${output}`))), timeout);
    const done = (settle: () => void) => {
      clearTimeout(timer);
      listeners.delete(check);
      settle();
    };
    listeners.add(check);
    check();
  });
  const waitFor = (pattern: RegExp, timeout = 15_000) => waitUntil((text) => pattern.exec(text) ?? undefined, String(pattern), timeout);
  const waitForCount = (pattern: RegExp, count: number, timeout = 15_000) => {
    const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
    return waitUntil((text) => {
      const matches = [...text.matchAll(global)];
      return matches.length >= count ? matches : undefined;
    }, `${count} x ${pattern}`, timeout);
  };
  return {
    child,
    output: () => output,
    waitFor,
    waitForCount,
    exited,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    close: async (grace = 3_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), grace); });
      const ended = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (ended !== undefined) return ended;
      child.kill('SIGKILL');
      return exited;
    },
  };
}

/**
 * Waits for the primary's "workers ready on <address>" line; the port is NaN for a Unix
 * socket. A cluster that never gets ready is killed, as the caller never gets it to stop.
 */
async function whenReady(proc: Running) {
  const match = await proc.waitFor(/workers? ready on (\S+)/).catch(async (error: unknown) => {
    await proc.stop('SIGKILL');
    throw error;
  });
  const where = match[1]!;
  const port = Number(/:(\d+)$/.exec(where)?.[1]);
  return { ...proc, port, address: where };
}

export type Started = Awaited<ReturnType<typeof whenReady>>;

/** Runs `clusterize [cliArgs] <fixture>` and waits until every worker is ready; returns the port. */
export async function startCli(fixtureName: string, cliArgs: string[] = [], env: Record<string, string> = {}, options: { detached?: boolean } = {}) {
  return whenReady(run([CLI, ...cliArgs, fixture(fixtureName)], { env, ...options }));
}

/**
 * Starts a cluster through the API (fixtures/primary.mjs calls startCluster with `options`)
 * whose workers run `workerFixture`, and waits until every worker is ready.
 */
export async function startPrimary(workerFixture: string, options: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  const cluster = { WORKER_SCRIPT: workerFixture, CLUSTER_OPTIONS: JSON.stringify(options) };
  return whenReady(run([fixture('primary.mjs')], { env: { ...env, ...cluster } }));
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on a new connection (no keep-alive), so each can land on another worker. */
export function request(port: number, path = '/', options: http.RequestOptions & { body?: string; host?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent: false, ...options, headers: { connection: 'close', ...options.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export async function pidsServing(port: number, count: number, path = '/'): Promise<Map<number, number>> {
  const pids = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const { body } = await request(port, path);
    const pid = (JSON.parse(body) as { pid: number }).pid;
    pids.set(pid, (pids.get(pid) ?? 0) + 1);
  }
  return pids;
}

/**
 * The worker pids that answer new connections, asking until `workers` different ones have
 * answered (at most `maxRequests`): under the shared policy the kernel picks the worker, and
 * a short run of sequential connections can all land on one.
 */
export async function workerPids(port: number, workers: number, maxRequests = 200): Promise<Set<number>> {
  const pids = new Set<number>();
  for (let i = 0; i < maxRequests && pids.size < workers; i++) {
    const { body } = await request(port);
    pids.add((JSON.parse(body) as { pid: number }).pid);
  }
  return pids;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `done` every 20 ms until it holds; rejects naming `what` after `ms`. */
export async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await sleep(20);
  }
}

/** The pids of every process below `root` (children, their children, ...), from /proc. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  for (let queue = [root]; queue.length > 0;) {
    const next = children.get(queue.shift()!) ?? [];
    found.push(...next);
    queue.push(...next);
  }
  return found;
}

/** Whether a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Rejects with a message naming `what` unless `promise` settles within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Listens on `port` and closes again: 'listening', or the error code (EADDRINUSE, ...). */
export function tryListen(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen(port, host, () => server.close(() => resolve('listening')));
  });
}

/** A port that was free a moment ago. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The bytes of a GET request; without `connection: close` it asks for keep-alive (HTTP/1.1). */
export function getRequest(path = '/', headers: Record<string, string> = {}): string {
  const lines = Object.entries({ host: 'localhost', ...headers }).map(([name, value]) => `${name}: ${value}\r\n`);
  return `GET ${path} HTTP/1.1\r\n${lines.join('')}\r\n`;
}

/** A client on a raw TCP socket: sends exactly the bytes it is told, when it is told. */
export interface RawConnection {
  readonly socket: net.Socket;
  /** Writes bytes as they are (a request, or part of one). */
  send(text: string): void;
  /** Resolves with the `count`-th complete response; rejects if the connection closes first. */
  response(count?: number): Promise<Reply>;
  /** Resolves when the connection has closed, with the ms since it was opened and all it received. */
  readonly closed: Promise<{ afterMs: number; received: string }>;
}

/** Opens a TCP connection to 127.0.0.1:port and writes `send` at once (before it is even connected). */
export function connectRaw(port: number, send = ''): RawConnection {
  const openedAt = Date.now();
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  let ended = false;
  const waiters = new Set<() => void>();
  const notify = () => { for (const waiter of waiters) waiter(); };
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => { received += chunk; notify(); });
  socket.on('error', () => {});
  const closed = new Promise<{ afterMs: number; received: string }>((resolve) => {
    socket.once('close', () => {
      ended = true;
      notify();
      resolve({ afterMs: Date.now() - openedAt, received });
    });
  });
  if (send !== '') socket.write(send);
  const response = (count = 1) => new Promise<Reply>((resolve, reject) => {
    const check = () => {
      const replies = parseResponses(received, ended);
      if (replies.length >= count) settle(() => resolve(replies[count - 1]!));
      else if (ended) settle(() => reject(new Error(`connection closed after ${replies.length} responses; received:\n${received}`)));
    };
    const settle = (done: () => void) => { waiters.delete(check); done(); };
    waiters.add(check);
    check();
  });
  return { socket, send: (text) => socket.write(text), response, closed };
}

/**
 * The complete responses in `text`. A response without content-length runs to the end of
 * the connection, so it is complete only once the connection has `ended`.
 */
export function parseResponses(text: string, ended: boolean): Reply[] {
  const replies: Reply[] = [];
  let rest = text;
  for (;;) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd === -1) return replies;
    const [statusLine = '', ...headerLines] = rest.slice(0, headEnd).split('\r\n');
    const headers: http.IncomingHttpHeaders = {};
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
    const bodyStart = headEnd + 4;
    if (length === undefined && !ended) return replies;
    const bodyEnd = length === undefined ? rest.length : bodyStart + length;
    if (rest.length < bodyEnd) return replies;
    replies.push({ status: Number(statusLine.split(' ')[1]), headers, body: rest.slice(bodyStart, bodyEnd) });
    rest = rest.slice(bodyEnd);
  }
}
