/**
 * The self-tests of the Node.js internals listed in node-internals.ts, run where each is
 * used: in the primary when a cluster is created, in each worker before its runtime
 * starts, in in-process mode when a server is first tracked for draining. When a Node
 * release changes one, the user gets one line naming it and the Node version, instead of
 * workers that never get ready or a drain that ends responses midway. None opens a
 * connection; the primary and the worker bind one socket without listening. A worker's
 * self-tests take about 3 ms, most of it compiling Node code its first connection
 * would compile anyway: its time from fork to ready did not change measurably.
 */
import http from 'node:http';
import net from 'node:net';
import { clusterizeError } from './errors.js';
import {
  bindHandle, canBindWithoutListening, channelCountsRefs, childProcessSendsAside, childProcessUsesInternalMessage,
  currentResponse, headersSentReadsHead, listenThroughSeam, missingMethods, presentPeer, socketOverHandle, stdioHandle, type ClientHandle,
} from './node-internals.js';
import { ProxyHandle } from './worker/proxy-handle.js';

/**
 * The exit status of a worker that found an internal missing (sysexits' EX_CONFIG). Before
 * the cluster was ever ready, the primary stops on it at once with the worker's line.
 */
export const EXIT_NODE_INTERNALS = 78;

const CODE = 'ERR_CLUSTERIZE_NODE_INTERNALS';

export type InternalsRole = 'primary' | 'worker' | 'in-process';

/** What is missing or changed, for a person; undefined when the internal works. */
type SelfTest = () => string | undefined;

/** A client address the self-tests present on a handle (TEST-NET-1, RFC 5737: nobody's). */
const PROBE_PEER = { address: '192.0.2.1', port: 1, family: 'IPv4' };

/**
 * 3 and 4: binds port 0 on the wildcard address (never listening: nothing can connect) and
 * hands the handle to `use`, which closes it. An errno instead of a handle (no network at
 * all) is an answer too: the handle checks are then skipped.
 */
function withBoundHandle(use: (handle: ClientHandle) => string | undefined): string | undefined {
  if (!canBindWithoutListening()) return 'net._createServerHandle is missing';
  let handle;
  try {
    handle = bindHandle({ address: null, port: 0, addressType: 4, fd: null });
  } catch (error) {
    return `net._createServerHandle() threw ${(error as Error)?.name}: ${(error as Error)?.message}`;
  }
  if (typeof handle === 'number') return undefined;
  const missing = missingMethods(handle);
  if (missing.length > 0) {
    handle.close();
    return `net._createServerHandle() returns a handle without ${missing.map((method) => `${method}()`).join(', ')}`;
  }
  return use(handle);
}

/** 3 and 4, for the worker: its self-binding policies bind their own socket. */
const bindsWithoutListening: SelfTest = () => withBoundHandle((handle) => {
  handle.close();
  return undefined;
});

/** 3, 4 and 6, for the primary: the PROXY protocol reader wraps a client handle in a net.Socket. */
const socketOverRawHandle: SelfTest = () => withBoundHandle((handle) => {
  presentPeer(handle, PROBE_PEER);
  // Not readable: the handle is not connected, nothing must read it.
  const socket = socketOverHandle(handle, { readable: false, writable: false, onread: { buffer: Buffer.alloc(1), callback: () => false } });
  const seen = socket.remoteAddress;
  socket.destroy();
  return seen === PROBE_PEER.address ? undefined : 'new net.Socket({ handle }) no longer reads remoteAddress from the handle\'s getpeername()';
});

/** A client handle in memory: enough for net.Socket to adopt, read and destroy. */
function probeClient(): ClientHandle {
  const client = { readStart: () => 0, readStop: () => 0, close() {} };
  presentPeer(client, PROBE_PEER);
  return client;
}

/** 1, 2 and 5: a server's listen() reaches cluster._getServer, adopts a ProxyHandle, and serves a client delivered through it. */
const listenSeam: SelfTest = () => {
  const proxy = new ProxyHandle('self-test', null, () => {});
  const server = net.createServer();
  let connected = false;
  let peer: string | undefined;
  server.on('connection', (socket: net.Socket) => {
    connected = true;
    peer = socket.remoteAddress;
    socket.destroy();
  });
  try {
    if (!listenThroughSeam(server, (_server, _query, callback) => callback(0, proxy))) {
      return 'net.Server#listen() no longer calls cluster._getServer outside the primary';
    }
    if (typeof proxy.onconnection !== 'function') return 'net.Server no longer adopts the handle cluster._getServer gives it (onconnection unset)';
    proxy.deliver(probeClient());
    if (!connected) return 'a client handle given to a server\'s onconnection no longer reaches its \'connection\' listeners';
    return peer === PROBE_PEER.address ? undefined : 'net.Socket#remoteAddress no longer comes from its handle\'s getpeername()';
  } finally {
    server.close();
    proxy.close();
  }
};

const internalMessages: SelfTest = () =>
  childProcessUsesInternalMessage() ? undefined : 'child_process no longer handles its NODE_ messages on \'internalMessage\'';

const ownSends: SelfTest = () => (childProcessSendsAside() ? undefined : 'process._send, child_process\'s send for its own messages, is missing');

const channelRefs: SelfTest = () => (channelCountsRefs() ? undefined : 'process.channel.unrefCounted is missing');

/** 12, and 4's fchmod: a worker's stdout is a pipe. */
const pipeHandle: SelfTest = () => {
  const handle = stdioHandle(process.stdout);
  if (handle === undefined) return 'process.stdout._handle, a pipe\'s handle, is missing';
  const missing = missingMethods(handle, ['setBlocking', 'fchmod']);
  return missing.length === 0 ? undefined : `a pipe's handle (process.stdout._handle) has no ${missing.map((method) => `${method}()`).join(', ')}`;
};

/**
 * 13, behavioural: ServerResponse#assignSocket, which the server calls, sets it and
 * detachSocket clears it. Without it, the drain would take every connection for idle and
 * end responses midway. The request is a plain object: an IncomingMessage costs more.
 */
const responseOfSocket: SelfTest = () => {
  const socket = new net.Socket();
  const response = new http.ServerResponse({} as http.IncomingMessage);
  response.assignSocket(socket);
  const assigned = currentResponse(socket) === response;
  // Node asserts that the response it detaches is the one _httpMessage holds.
  if (assigned) response.detachSocket(socket);
  const detached = assigned && currentResponse(socket) === null;
  socket.destroy();
  return detached ? undefined : 'socket._httpMessage no longer holds the response an HTTP server is writing on a connection';
};

/**
 * 14, structural: `headersSent` reads it. Writing a head for real (writeHead) would cost
 * a start a few hundred µs more, for the same answer.
 */
const headAsSent: SelfTest = () =>
  headersSentReadsHead() ? undefined : 'response._header no longer holds the head a response sent (headersSent does not read it)';

const SELF_TESTS: Record<InternalsRole, readonly SelfTest[]> = {
  primary: [socketOverRawHandle],
  worker: [bindsWithoutListening, listenSeam, internalMessages, ownSends, channelRefs, pipeHandle, responseOfSocket, headAsSent],
  'in-process': [responseOfSocket],
};

/** The first internal this process needs that Node.js lacks or changed, described for a person. */
export function missingInternal(role: InternalsRole): string | undefined {
  for (const test of SELF_TESTS[role]) {
    let missing;
    try {
      missing = test();
    } catch (error) {
      // Node threw where it used to answer: changed too, in a way the test could not foresee.
      missing = `the ${test.name} self-test (node-internals-check.ts) threw ${(error as Error)?.name}: ${(error as Error)?.message}`;
    }
    if (missing !== undefined) return `${missing} in Node ${process.versions.node}`;
  }
  return undefined;
}

/** Throws ERR_CLUSTERIZE_NODE_INTERNALS if this role's internals are not there (a worker prints a line and exits instead). */
export function assertInternals(role: Exclude<InternalsRole, 'worker'>): void {
  const missing = missingInternal(role);
  if (missing !== undefined) throw clusterizeError(CODE, missing);
}

/** The line a worker prints before it exits with EXIT_NODE_INTERNALS: `clusterize: worker 1 (pid 2): <what> [CODE]`. */
export function workerInternalsLine(who: string, missing: string): string {
  return `clusterize: ${who}: ${missing} [${CODE}]`;
}

/** What the worker's line says (`worker 1 (pid 2): <what>`), from its last output lines. */
export function readWorkerInternalsLine(lines: readonly string[]): string | undefined {
  for (const line of [...lines].reverse()) {
    const match = /^clusterize: (.*) \[ERR_CLUSTERIZE_NODE_INTERNALS\]$/.exec(line.trim());
    if (match !== null) return match[1];
  }
  return undefined;
}
