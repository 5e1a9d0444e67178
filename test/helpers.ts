import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../packages/core/dist/cli.js', import.meta.url));
export const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

export interface Running {
  child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Resolves when the output matches, rejects after `timeout` ms or when the process exits. */
  waitFor(pattern: RegExp, timeout?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or 128 + signal number) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts `node <args>` and collects its output. */
export function run(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Running {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
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
  const waitFor = (pattern: RegExp, timeout = 15_000) => new Promise<RegExpMatchArray>((resolve, reject) => {
    const check = () => {
      const match = pattern.exec(output);
      if (match !== null) return done(() => resolve(match));
      if (child.exitCode !== null || child.signalCode !== null) {
        done(() => reject(new Error(`process exited before printing ${pattern}; output:\n${output}`)));
      }
    };
    const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${pattern}; output:\n${output}`))), timeout);
    const done = (settle: () => void) => {
      clearTimeout(timer);
      listeners.delete(check);
      settle();
    };
    listeners.add(check);
    check();
  });
  return {
    child,
    output: () => output,
    waitFor,
    exited,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs `clusterize [cliArgs] <fixture>` and waits until every worker is ready; returns the port. */
export async function startCli(fixtureName: string, cliArgs: string[] = [], env: Record<string, string> = {}) {
  const proc = run([CLI, ...cliArgs, fixture(fixtureName)], { env });
  const match = await proc.waitFor(/workers? ready on (\S+)/);
  const where = match[1]!;
  const port = Number(/:(\d+)$/.exec(where)?.[1]);
  return { ...proc, port, address: where };
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

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
