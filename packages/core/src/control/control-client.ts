import { lstatSync } from 'node:fs';
import net from 'node:net';
import { clusterizeError } from '../errors.js';
import { checkPrivate } from './paths.js';
import { encode, parseReply, readLines, type ControlReply, type ControlRequest } from './protocol.js';

/** How long a cluster gets to answer a request: its first reply comes at once, whatever the request. */
export const CONTROL_ANSWER_TIMEOUT_MS = 5_000;

/**
 * One request to a cluster's control socket and the replies it brings, read one at a time.
 */
export class ControlConnection {
  private readonly replies: ControlReply[] = [];
  private wake: (() => void) | undefined;
  private closed = false;
  private failure: Error | undefined;

  private constructor(private readonly socket: net.Socket, readonly path: string) {
    readLines(socket, (line) => {
      const parsed = parseReply(line);
      if (parsed.ok) this.replies.push(parsed.message);
      else this.fail(clusterizeError('ERR_CLUSTERIZE_CONTROL_PROTOCOL', `${path} answered something clusterize does not understand: ${parsed.reason} (is the cluster run by a clusterize of another version?)`));
      this.wake?.();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => this.fail(unreachable(path, error.code ?? error.message)));
    socket.once('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }

  /**
   * Connects to the socket at `path`, once it has checked that the socket is this user's
   * alone (ERR_CLUSTERIZE_CONTROL_UNSAFE otherwise), and sends `request`. 'gone' when
   * there is no socket; 'stale' when nothing listens on it (its cluster was killed).
   */
  static open(path: string, request: ControlRequest): Promise<ControlConnection | 'gone' | 'stale'> {
    try {
      checkPrivate(path, lstatSync(path), 'socket');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return Promise.resolve('gone');
      return Promise.reject(error as Error);
    }
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      socket.once('connect', () => {
        socket.off('error', refused);
        socket.write(encode(request));
        resolve(new ControlConnection(socket, path));
      });
      const refused = (error: NodeJS.ErrnoException) => {
        if (error.code === 'ECONNREFUSED') resolve('stale');
        else if (error.code === 'ENOENT') resolve('gone');
        else reject(unreachable(path, error.code ?? error.message));
      };
      socket.once('error', refused);
    });
  }

  /**
   * The next reply, or undefined once the cluster has closed the connection; rejects with
   * ERR_CLUSTERIZE_CONTROL_UNREACHABLE when none comes within `timeout` ms.
   */
  async next(timeout?: number): Promise<ControlReply | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      while (this.replies.length === 0 && !this.closed && this.failure === undefined) {
        await new Promise<void>((resolve, reject) => {
          this.wake = resolve;
          if (timeout !== undefined) timer = setTimeout(() => reject(unreachable(this.path, `no answer within ${timeout} ms`)), timeout);
        });
        clearTimeout(timer);
      }
    } finally {
      clearTimeout(timer);
      this.wake = undefined;
    }
    if (this.replies.length > 0) return this.replies.shift();
    if (this.failure !== undefined) throw this.failure;
    return undefined;
  }

  close(): void {
    this.socket.destroy();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.socket.destroy();
  }
}

function unreachable(path: string, why: string) {
  return clusterizeError('ERR_CLUSTERIZE_CONTROL_UNREACHABLE', `${path}: ${why}`);
}
