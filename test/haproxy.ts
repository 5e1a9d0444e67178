// A real HAProxy (Debian's package; .ci/run installs it) run by a test or by bench/pool.ts:
// the config is the caller's own, in a temp directory with the runtime API's socket next to it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { within } from './helpers.ts';

export interface Haproxy {
  /** The runtime API's Unix socket (`stats socket ... level admin`). */
  readonly socket: string;
  /** Sends one runtime API command; resolves with HAProxy's answer. */
  command(line: string): Promise<string>;
  /** Each server's counters in `backend` from `show stat` (CSV): econ, eresp, wretr, wredis, hrsp_5xx, ... by server name. */
  serverStats(backend: string): Promise<Map<string, Record<string, number>>>;
  /** The operational state of each server of `backend` (`show servers state`): 'up', 'down', ... */
  serverStates(backend: string): Promise<Map<string, ServerState>>;
  /** SIGKILL; resolves once it has exited (its connections are closed then) and its temp directory is gone. */
  kill(): Promise<void>;
}

export type ServerState = 'down' | 'starting' | 'up' | 'stopping';

/** srv_op_state in `show servers state` (HAProxy's SRV_ST_* values). */
const OP_STATES: readonly ServerState[] = ['down', 'starting', 'up', 'stopping'];

/** Throws a message saying how to get HAProxy when it is not installed. */
export function requireHaproxy(): void {
  const version = spawnSync('haproxy', ['-v'], { encoding: 'utf8' });
  if (version.error !== undefined) {
    throw new Error(`haproxy is not installed (${version.error.message}): install it with 'apt-get install -y haproxy'; .ci/run installs it`);
  }
}

/**
 * Starts `haproxy -db` with `config(socket)` (the config gets the runtime API socket's path
 * to put in its `global` section) and resolves once `port` on 127.0.0.1 accepts, and the
 * socket too where the config has one.
 */
export async function startHaproxy(port: number, config: (socket: string) => string): Promise<Haproxy> {
  requireHaproxy();
  const dir = mkdtempSync(join(tmpdir(), 'clusterize-haproxy-'));
  const socket = join(dir, 'admin.sock');
  const file = join(dir, 'haproxy.cfg');
  const text = config(socket);
  writeFileSync(file, text);
  // A config without `stats socket` has no runtime API to wait for.
  const hasSocket = text.includes(socket);
  let output = '';
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const killAtExit = () => child.kill('SIGKILL');
  process.once('exit', killAtExit);
  // Each start's own listener goes with its HAProxy: a bench starts dozens.
  child.once('exit', () => process.off('exit', killAtExit));
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`haproxy exited with ${code}:\n${output}`))));
  exited.catch(() => {});
  // HAProxy says nothing when it is ready: it is once its port and its runtime API's socket
  // accept (it binds them one after the other, the socket sometimes last).
  const accepting = (async () => {
    while (!(await accepts(port)) || (hasSocket && !(await accepts(socket)))) await new Promise((resolve) => setTimeout(resolve, 50));
  })();
  await within(Promise.race([accepting, exited]), 10_000, 'haproxy accepting');
  const command = (line: string) => new Promise<string>((resolve, reject) => {
    const connection = net.connect(socket);
    let answer = '';
    connection.setEncoding('utf8');
    connection.on('data', (chunk: string) => { answer += chunk; });
    connection.on('end', () => resolve(answer));
    connection.on('error', reject);
    connection.end(`${line}\n`);
  });
  return {
    socket,
    command,
    serverStates: async (backend) => {
      // "1" (the format version), a "# be_id be_name srv_id srv_name srv_addr srv_op_state ..." header, one line per server.
      const lines = (await command(`show servers state ${backend}`)).split('\n').filter((line) => /^\d+ /.test(line));
      return new Map(lines.map((line) => {
        const fields = line.split(' ');
        return [fields[3]!, OP_STATES[Number(fields[5])] ?? 'down'] as const;
      }));
    },
    serverStats: async (backend) => {
      // "# pxname,svname,qcur,...": the header names the columns; BACKEND and FRONTEND rows are totals.
      const [header = '', ...rows] = (await command('show stat')).split('\n').filter((line) => line !== '');
      const columns = header.replace(/^# /, '').split(',');
      const stats = new Map<string, Record<string, number>>();
      for (const row of rows) {
        const values = row.split(',');
        if (values[0] !== backend || values[1] === 'BACKEND') continue;
        stats.set(values[1]!, Object.fromEntries(columns.map((column, index) => [column, Number(values[index])])));
      }
      return stats;
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited.catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether a TCP port on 127.0.0.1, or a Unix socket, accepts a connection now. */
function accepts(where: number | string): Promise<boolean> {
  return new Promise((resolve) => {
    const connected = () => { probe.destroy(); resolve(true); };
    const probe = typeof where === 'number' ? net.connect(where, '127.0.0.1', connected) : net.connect(where, connected);
    probe.on('error', () => resolve(false));
  });
}
