import { once } from 'node:events';
import { open, survey, type Target } from '../control/clusters.js';
import { CONTROL_ANSWER_TIMEOUT_MS, type ControlConnection } from '../control/control-client.js';
import type { ClusterReport, ControlReply, ControlRequest } from '../control/protocol.js';
import { cliErrorLine, clusterizeError, isClusterizeError, type ClusterizeError } from '../errors.js';
import { EXIT_CUT_AT_DEADLINE } from '../supervision/signals.js';
import type { CommandName } from './command-line.js';
import { columns, duration, statusText } from './status-command.js';

export interface Command {
  readonly command: CommandName;
  readonly target: Target;
  readonly workers?: number | undefined;
  readonly json: boolean;
}

const note = (line: string) => void process.stderr.write(`${line}\n`);
const say = (line: string) => void process.stdout.write(`${line}\n`);

/**
 * Runs a command against this user's running clusters; resolves with the exit status: 0,
 * 1 (printed with its cause), or for `stop` the status the primary exits with.
 */
export async function runCommand(command: Command): Promise<number> {
  try {
    return await commands[command.command](command);
  } catch (error) {
    if (!isClusterizeError(error)) throw error;
    note(cliErrorLine(error));
    return 1;
  }
}

const commands: { [C in CommandName]: (command: Command) => Promise<number> } = {
  ls: async ({ json }) => {
    const { running, refused } = await survey(note);
    for (const error of refused) note(cliErrorLine(error));
    const now = Date.now();
    if (json) say(JSON.stringify(running.map(({ report }) => report)));
    else if (running.length === 0) note('clusterize: no cluster of this user is running');
    else process.stdout.write(columns([['name', 'pid', 'workers', 'policy', 'uptime', 'reloads'], ...running.map(({ report }) => lsRow(report, now))]));
    return refused.length === 0 ? 0 : 1;
  },
  status: async ({ target, json }) => {
    const { cluster } = await ask(target, { command: 'status' });
    process.stdout.write(json ? `${JSON.stringify(cluster)}\n` : statusText(cluster, Date.now()));
    return 0;
  },
  reload: async ({ target }) => {
    const { cluster, connection } = await ask(target, { command: 'reload' });
    note(`clusterize: reloading ${cluster.name} (pid ${cluster.pid}): replacing its ${cluster.target} worker${cluster.target === 1 ? '' : 's'}`);
    const startedAt = Date.now();
    const done = await outcome(connection, 'the reload ended');
    say(`clusterize: ${done.name} reloaded: ${done.target} worker${done.target === 1 ? '' : 's'} of the new release serve (${seconds(Date.now() - startedAt)})`);
    return 0;
  },
  scale: async ({ target, workers }) => {
    const { cluster, connection } = await ask(target, { command: 'scale', workers: workers! });
    note(`clusterize: scaling ${cluster.name} (pid ${cluster.pid}) from ${cluster.target} to ${workers} worker${workers === 1 ? '' : 's'}`);
    const done = await outcome(connection, 'the scale ended');
    say(`clusterize: ${done.name} runs ${done.target} worker${done.target === 1 ? '' : 's'}`);
    return 0;
  },
  stop: async ({ target }) => {
    const { cluster, connection } = await ask(target, { command: 'stop' });
    note(`clusterize: stopping ${cluster.name} (pid ${cluster.pid}): its workers finish their requests first`);
    const reply = await ended(connection, 'it stopped');
    if (reply.type !== 'stopped') throw unexpected(connection, reply);
    if (reply.clean) {
      say(`clusterize: ${cluster.name} stopped: every worker finished its requests`);
      return 0;
    }
    say(`clusterize: ${cluster.name} stopped, but the shutdown deadline cut ${reply.cutConnections} connection${reply.cutConnections === 1 ? '' : 's'} and killed ${reply.killedWorkers} worker${reply.killedWorkers === 1 ? '' : 's'}`);
    return EXIT_CUT_AT_DEADLINE;
  },
  logs: async ({ target }) => {
    const { cluster, connection } = await ask(target, { command: 'logs' });
    note(`clusterize: following the output of ${cluster.name} (pid ${cluster.pid}); Ctrl-C to stop`);
    for (;;) {
      const reply = await ended(connection, 'it stopped');
      if (reply.type === 'output') {
        const stream = reply.stream === 'stdout' ? process.stdout : process.stderr;
        // A reader that stops reading slows this client down; the cluster drops it if it falls too far behind.
        if (!stream.write(reply.text)) await once(stream, 'drain');
      } else if (reply.type === 'end' && reply.reason === 'stopped') {
        note(`clusterize: ${cluster.name} stopped`);
        return 0;
      } else if (reply.type === 'end') {
        throw clusterizeError('ERR_CLUSTERIZE_LOGS_DROPPED', `${cluster.name}: ${reply.message} (run clusterize logs again)`);
      } else {
        throw unexpected(connection, reply);
      }
    }
  },
};

/** Sends `request` to the cluster `target` names; resolves with its state, as the first reply gives it. */
async function ask(target: Target, request: ControlRequest): Promise<{ cluster: ClusterReport; connection: ControlConnection }> {
  const connection = await open(target, request, note);
  try {
    const reply = await ended(connection, 'it answered', CONTROL_ANSWER_TIMEOUT_MS);
    if (reply.type !== 'cluster') throw unexpected(connection, reply);
    return { cluster: reply.cluster, connection };
  } catch (error) {
    connection.close();
    throw error;
  }
}

/** The cluster's state once the operation is done, or the error the operation ended with. */
async function outcome(connection: ControlConnection, what: string): Promise<ClusterReport> {
  const reply = await ended(connection, what);
  if (reply.type !== 'done') throw unexpected(connection, reply);
  return reply.cluster;
}

/** The next reply; an error reply is thrown as the error it carries. */
async function ended(connection: ControlConnection, what: string, timeout?: number): Promise<ControlReply> {
  const reply = await connection.next(timeout);
  if (reply === undefined) {
    throw clusterizeError('ERR_CLUSTERIZE_CONTROL_UNREACHABLE', `${connection.path}: the cluster closed the connection before ${what} (did its primary exit?)`);
  }
  if (reply.type === 'error') throw Object.assign(new Error(reply.message), { code: reply.code }) as ClusterizeError;
  return reply;
}

function unexpected(connection: ControlConnection, reply: ControlReply): ClusterizeError {
  return clusterizeError('ERR_CLUSTERIZE_CONTROL_PROTOCOL', `${connection.path} answered '${reply.type}' out of turn (is the cluster run by a clusterize of another version?)`);
}

function lsRow(cluster: ClusterReport, now: number): string[] {
  const ready = cluster.workers.filter((worker) => worker.state === 'ready').length;
  const state = cluster.state === 'running' ? '' : ` (${cluster.state})`;
  return [`${cluster.name}${state}`, String(cluster.pid), `${ready}/${cluster.target}`, cluster.policy, duration(now - cluster.startedAt), String(cluster.reloads)];
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
