import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { clusterizeError, isClusterizeError, type ClusterizeError } from '../errors.js';
import { CONTROL_ANSWER_TIMEOUT_MS, ControlConnection } from './control-client.js';
import { checkPrivate, nameOfSocket, removeIfSame, runtimeDir, socketPath } from './paths.js';
import type { ClusterReport, ControlRequest } from './protocol.js';

/** A cluster of this user's that answered. */
export interface Running {
  readonly path: string;
  readonly report: ClusterReport;
}

/** What a look through the runtime folder found. */
export interface Survey {
  readonly running: Running[];
  /** Sockets that were not looked at or did not answer, with why. */
  readonly refused: ClusterizeError[];
}

/**
 * Every cluster in this user's runtime folder, asked for its state. A socket nobody listens
 * on any more (its primary was killed) is removed, and `note` says so.
 */
export async function survey(note: (line: string) => void): Promise<Survey> {
  const dir = runtimeDir();
  let files: string[];
  try {
    checkPrivate(dir, lstatSync(dir), 'folder');
    files = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { running: [], refused: [] };
    throw error;
  }
  const found = await Promise.all(files.flatMap((file) => {
    const name = nameOfSocket(file);
    return name === undefined ? [] : [ask(join(dir, file), note)];
  }));
  return {
    running: found.filter((result): result is Running => result !== undefined && !(result instanceof Error)).sort((a, b) => a.report.name.localeCompare(b.report.name)),
    refused: found.filter((result): result is ClusterizeError => result instanceof Error),
  };
}

/** The state of the cluster at `path`; undefined when none runs there (a stale socket is removed). */
async function ask(path: string, note: (line: string) => void): Promise<Running | ClusterizeError | undefined> {
  try {
    const connection = await connect(path, { command: 'status' }, note);
    if (connection === undefined) return undefined;
    const reply = await connection.next(CONTROL_ANSWER_TIMEOUT_MS).finally(() => connection.close());
    if (reply?.type === 'cluster') return { path, report: reply.cluster };
    return clusterizeError('ERR_CLUSTERIZE_CONTROL_UNREACHABLE', `${path}: ${reply?.type === 'error' ? reply.message : 'closed the connection without answering'}`);
  } catch (error) {
    if (isClusterizeError(error)) return error;
    throw error;
  }
}

/**
 * Opens a request to the socket at `path`: undefined when no cluster is there, after
 * removing a stale socket (and saying so).
 */
export async function connect(path: string, request: ControlRequest, note: (line: string) => void): Promise<ControlConnection | undefined> {
  let ino: number | undefined;
  try {
    ino = lstatSync(path).ino;
  } catch {
    return undefined;
  }
  const connection = await ControlConnection.open(path, request);
  if (connection === 'gone') return undefined;
  if (connection === 'stale') {
    removeIfSame(path, ino);
    note(`clusterize: removed a stale control socket ${path}: no cluster answered on it (its primary is gone)`);
    return undefined;
  }
  return connection;
}

/** Where a command goes: `--control PATH`, a NAME, or else the one cluster that runs. */
export interface Target {
  readonly name?: string | undefined;
  readonly path?: string | undefined;
}

/**
 * Sends `request` to the cluster `target` names: ERR_CLUSTERIZE_CLUSTER_NOT_FOUND when
 * no such cluster runs, naming those that do; with no name and several running,
 * ERR_CLUSTERIZE_NAME_NEEDED, naming them.
 */
export async function open(target: Target, request: ControlRequest, note: (line: string) => void): Promise<ControlConnection> {
  if (target.path !== undefined) {
    const connection = await connect(target.path, request, note);
    if (connection === undefined) throw clusterizeError('ERR_CLUSTERIZE_CLUSTER_NOT_FOUND', `no cluster listens on ${target.path}`);
    return connection;
  }
  if (target.name !== undefined) {
    const connection = await connect(socketPath(runtimeDir(), target.name), request, note);
    if (connection !== undefined) return connection;
    const { running } = await survey(note);
    throw clusterizeError('ERR_CLUSTERIZE_CLUSTER_NOT_FOUND', `no cluster named '${target.name}' is running; ${listed(running)}`);
  }
  const { running } = await survey(note);
  if (running.length === 0) throw clusterizeError('ERR_CLUSTERIZE_CLUSTER_NOT_FOUND', listed(running));
  if (running.length > 1) {
    throw clusterizeError('ERR_CLUSTERIZE_NAME_NEEDED', `${running.length} clusters are running (${running.map(({ report }) => report.name).join(', ')}): name one (clusterize ${request.command} NAME)`);
  }
  return open({ path: running[0]!.path }, request, note);
}

function listed(running: readonly Running[]): string {
  if (running.length === 0) return `no cluster of this user is running (none in ${runtimeDir()})`;
  return `running: ${running.map(({ report }) => report.name).join(', ')}`;
}
