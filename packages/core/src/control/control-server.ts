import { chmodSync, lstatSync } from 'node:fs';
import net from 'node:net';
import { clusterizeError, isClusterizeError, type ErrorCode } from '../errors.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import type { ShutdownReport } from '../supervision/supervisor.js';
import { relayTo, workersOutputEnded } from '../supervision/output-relay.js';
import { ControlConnection } from './control-client.js';
import { checkPrivate, checkSocketPath, ensureRuntimeDir, removeIfSame, socketPath } from './paths.js';
import { encode, MAX_REQUEST_BYTES, parseRequest, readLines, type ClusterReport, type Command, type ControlReply, type RequestOf } from './protocol.js';

/** Connections the control socket holds at once: each `logs` client holds one for as long as it follows. */
export const CONTROL_MAX_CONNECTIONS = 64;
/** A client that has not sent its request within this is disconnected. */
const REQUEST_TIMEOUT_MS = 5_000;
/**
 * Output a `logs` client may have waiting for it before it is dropped: the cluster never
 * waits for a reader. Far above what one write of the relays brings (a line of at most
 * MAX_WHOLE_LINE_BYTES), so a client that keeps reading is never dropped.
 */
export const LOGS_MAX_BEHIND_BYTES = 4 * 1024 * 1024;
/** A client that does not read its last message is cut off after this. */
const LINGER_MS = 1_000;
/** A `logs` client dropped for falling behind has this long to read what was already queued for it, and the line that says why. */
const BEHIND_LINGER_MS = 10_000;
/** How long an existing socket's cluster gets to answer before the name counts as taken by a cluster that hangs. */
const PROBE_TIMEOUT_MS = 2_000;

/** What the control socket shows and does; the cluster provides it. */
export interface ControlSource {
  report(): ClusterReport;
  reload(): Promise<void>;
  scale(workers: number): Promise<void>;
  /** Begins a stop, as SIGTERM does; the cluster closes the control socket once its workers are gone. */
  stop(): void;
}

export interface ControlSettings {
  /** The cluster's name: its socket is <name>.sock in the runtime folder, unless `path` says where. */
  readonly name: string;
  readonly path: string | undefined;
}

type Handlers = { [C in Command]: (request: RequestOf<C>, client: net.Socket) => void };

/**
 * The cluster's control socket: a Unix socket only its user may use (mode 0600, in a folder
 * of mode 0700), over which `clusterize` commands from another shell read its state and ask
 * for a reload, a scale, a stop, or its output. No network port: only this user's processes
 * (and root) reach it.
 */
export class ControlServer {
  private readonly server: net.Server;
  private readonly handlers: Handlers;
  private readonly clients = new Set<net.Socket>();
  /** `stop` clients, waiting for the report. */
  private readonly stopping = new Set<net.Socket>();
  /** `logs` clients. */
  private readonly followers = new Set<net.Socket>();
  private untap: (() => void) | undefined;
  /** Where it listens, and the socket file's inode: removed on exit only if it is still ours. */
  private bound: { path: string; ino: number } | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly source: ControlSource, private readonly settings: ControlSettings, private readonly log: (line: string) => void) {
    this.handlers = {
      status: (_, client) => this.finish(client, this.answer()),
      reload: (_, client) => this.await(client, 'ERR_CLUSTERIZE_RELOAD_FAILED', () => this.source.reload()),
      scale: ({ workers }, client) => this.await(client, 'ERR_CLUSTERIZE_SCALE_FAILED', () => this.source.scale(workers)),
      stop: (_, client) => {
        this.send(client, this.answer());
        this.stopping.add(client);
        this.source.stop();
      },
      logs: (_, client) => this.follow(client),
    };
    this.server = net.createServer((client) => this.accept(client));
    this.server.maxConnections = CONTROL_MAX_CONNECTIONS;
  }

  get name(): string {
    return this.settings.name;
  }

  get path(): string | undefined {
    return this.bound?.path;
  }

  /**
   * Listens on the socket: rejects with ERR_CLUSTERIZE_NAME_TAKEN when a cluster answers on
   * it, ERR_CLUSTERIZE_CONTROL_UNSAFE when the folder or the file there is not this user's
   * alone, ERR_CLUSTERIZE_CONTROL_LISTEN when it cannot be made. A socket nobody answers on
   * (its cluster was killed) is removed, with a line.
   */
  async listen(): Promise<string> {
    const { name } = this.settings;
    const path = checkSocketPath(this.settings.path ?? socketPath(ensureRuntimeDir(), name));
    await this.claim(path);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'EADDRINUSE') return reject(this.taken(path, 'it started at the same moment'));
        reject(clusterizeError('ERR_CLUSTERIZE_CONTROL_LISTEN', `cannot listen on ${path}: ${error.code ?? error.message}`, error));
      });
      // Created with mode 0600: no moment when another user could connect.
      const umask = process.umask(0o177);
      try {
        this.server.listen(path, () => resolve());
      } finally {
        process.umask(umask);
      }
    });
    chmodSync(path, 0o600);
    this.bound = { path, ino: lstatSync(path).ino };
    process.on('exit', this.removeOnExit);
    // An accept that fails (EMFILE) is the server's 'error': logged, never fatal to the primary.
    const warnings = new RateLimitedLog(this.log);
    this.server.on('error', (error: NodeJS.ErrnoException) => warnings.write(error.code ?? 'error',
      () => `clusterize: the control socket could not take a connection: ${error.code ?? error.message}`,
      (count) => `clusterize: the control socket could not take ${count} more connection${count === 1 ? '' : 's'} in the last second`));
    return path;
  }

  /** A line of the primary's own log, for `logs` clients. */
  logLine(line: string): void {
    if (this.followers.size > 0) this.broadcast('stderr', `${line}\n`);
  }

  /**
   * Stops listening and removes the socket; `stop` clients get `report`, `logs` clients the
   * rest of the workers' output and an end. For after the workers are gone.
   */
  close(report?: ShutdownReport): Promise<void> {
    this.closing ??= this.shut(report);
    return this.closing;
  }

  private async shut(report: ShutdownReport | undefined): Promise<void> {
    if (this.bound === undefined) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    process.off('exit', this.removeOnExit);
    for (const client of this.stopping) {
      const stopped = report ?? { cutConnections: 0, killedWorkers: 0, clean: true };
      this.finish(client, { type: 'stopped', ...stopped });
    }
    if (this.followers.size > 0) {
      // What the workers wrote last is still in their pipes.
      await workersOutputEnded();
      for (const client of this.followers) this.finish(client, { type: 'end', reason: 'stopped', message: 'the cluster stopped' });
    }
    const linger = setTimeout(() => {
      for (const client of this.clients) client.destroy();
    }, LINGER_MS);
    await closed;
    clearTimeout(linger);
    this.untap?.();
  }

  /** Refuses the path while a cluster answers there; removes it when nothing does. */
  private async claim(path: string): Promise<void> {
    let stats;
    try {
      stats = lstatSync(path);
    } catch {
      return;
    }
    checkPrivate(path, stats, 'socket');
    const probe = await ControlConnection.open(path, { command: 'status' });
    if (probe === 'gone') return;
    if (probe === 'stale') {
      removeIfSame(path, stats.ino);
      this.log(`clusterize: removed a stale control socket ${path}: no cluster answered on it`);
      return;
    }
    const first = await probe.next(PROBE_TIMEOUT_MS).catch(() => undefined);
    probe.close();
    throw this.taken(path, first?.type === 'cluster' ? `pid ${first.cluster.pid}` : 'it does not answer');
  }

  /** Two clusters under one name: the second is refused. */
  private taken(path: string, which: string) {
    const message = this.settings.path === undefined
      ? `'${this.settings.name}' is the name of a cluster that runs already (${which}, on ${path}): give this one another name (--name, or control.name)`
      : `${path} is the control socket of a cluster that runs already (${which}): give this one another socket (--control, or control.path)`;
    return clusterizeError('ERR_CLUSTERIZE_NAME_TAKEN', message);
  }

  private accept(client: net.Socket): void {
    this.clients.add(client);
    client.on('error', () => {});
    client.once('close', () => {
      this.clients.delete(client);
      this.stopping.delete(client);
      this.unfollow(client);
    });
    if (this.closing !== undefined) return void client.destroy();
    const timer = setTimeout(() => client.destroy(), REQUEST_TIMEOUT_MS);
    let asked = false;
    readLines(client, (line) => {
      if (asked) return;
      asked = true;
      clearTimeout(timer);
      this.serve(line, client);
    }, MAX_REQUEST_BYTES, () => client.destroy());
  }

  private serve(line: string, client: net.Socket): void {
    const parsed = parseRequest(line);
    if (!parsed.ok) {
      return this.finish(client, { type: 'error', code: 'ERR_CLUSTERIZE_CONTROL_PROTOCOL', message: `${parsed.reason} (is the client a clusterize of another version?)` });
    }
    const request = parsed.message;
    (this.handlers[request.command] as (request: unknown, client: net.Socket) => void)(request, client);
  }

  private answer(): ControlReply {
    return { type: 'cluster', cluster: this.source.report() };
  }

  /** Answers at once, then with `done` or the error the operation ended with. */
  private await(client: net.Socket, failure: ErrorCode, operation: () => Promise<void>): void {
    this.send(client, this.answer());
    // An operation the cluster refuses at once (it is stopping) throws rather than rejects.
    new Promise<void>((resolve) => resolve(operation())).then(() => this.finish(client, { type: 'done', cluster: this.source.report() }), (error: unknown) => {
      if (isClusterizeError(error)) return this.finish(client, { type: 'error', code: error.code, message: error.message });
      this.log(`clusterize: internal error in a control request: ${(error as Error)?.stack ?? String(error)}`);
      this.finish(client, { type: 'error', code: failure, message: String(error) });
    });
  }

  private follow(client: net.Socket): void {
    this.send(client, this.answer());
    this.followers.add(client);
    if (this.untap !== undefined) return;
    const stdout = relayTo(process.stdout).tap((data) => this.broadcast('stdout', data.toString()));
    const stderr = relayTo(process.stderr).tap((data) => this.broadcast('stderr', data.toString()));
    this.untap = () => {
      stdout();
      stderr();
      this.untap = undefined;
    };
  }

  private unfollow(client: net.Socket): void {
    if (this.followers.delete(client) && this.followers.size === 0) this.untap?.();
  }

  /** Copies output to every `logs` client; one that is too far behind is dropped, never waited for. */
  private broadcast(stream: 'stdout' | 'stderr', text: string): void {
    const line = encode({ type: 'output', stream, text });
    for (const client of this.followers) {
      if (client.writableLength <= LOGS_MAX_BEHIND_BYTES) {
        client.write(line);
        continue;
      }
      this.unfollow(client);
      this.log(`clusterize: dropped a clusterize logs client that fell more than ${LOGS_MAX_BEHIND_BYTES / 1024 / 1024} MB behind`);
      this.finish(client, {
        type: 'end', reason: 'behind',
        message: `this client fell more than ${LOGS_MAX_BEHIND_BYTES / 1024 / 1024} MB behind the cluster's output and was dropped; the cluster does not wait for a reader`,
      }, BEHIND_LINGER_MS);
    }
  }

  private send(client: net.Socket, reply: ControlReply): void {
    if (!client.destroyed) client.write(encode(reply));
  }

  /** The last message: the connection ends, and is cut if the client does not read it in time. */
  private finish(client: net.Socket, reply: ControlReply, linger = LINGER_MS): void {
    this.stopping.delete(client);
    this.unfollow(client);
    if (client.destroyed) return;
    client.end(encode(reply));
    setTimeout(() => client.destroy(), linger).unref();
  }

  /** A primary that exits without closing (a second signal, process.exit()) leaves no stale socket behind. */
  private readonly removeOnExit = () => {
    if (this.bound !== undefined) removeIfSame(this.bound.path, this.bound.ino);
  };
}
