// What checking an IPC message costs (issue 18's measurement): `npm run build && node
// bench/protocol-verify.ts [path/to/protocol.js]` verifies each message 1e6 times, 5 rounds,
// and prints the best round's ns per message. Give the path of another build's
// dist/protocol.js to compare (the messages below are what a worker and the primary send on
// every connection and heartbeat). Takes about 5 s.
import { pathToFileURL } from 'node:url';

interface Protocol {
  verifyWorkerMessage(message: Record<string, unknown>, token: string, handle?: unknown): { ok: boolean };
  verifyPrimaryMessage?(message: Record<string, unknown>, handle: unknown): { ok: boolean };
}

const path = process.argv[2] ?? new URL('../packages/core/dist/protocol.js', import.meta.url).pathname;
const protocol = await import(pathToFileURL(path).href) as Protocol;
const token = '0123456789abcdef';
const cmd = 'NODE_CLUSTERIZE';
const ROUNDS = 5;
const N = 1e6;

const fromWorker = {
  acks: { cmd, act: 'acks', accepted: [1234], refused: [], connections: 12, token },
  pong: { cmd, act: 'pong', seq: 7, rss: 52_428_800, delay: { mean: 0.4, p99: 1.2, max: 3.5 }, connections: 12, accepted: 3400, token },
  ready: { cmd, act: 'ready', token },
  listen: { cmd, act: 'listen', seq: 1, query: { address: '127.0.0.1', port: 0, addressType: 4, fd: null, flags: 0, readableAll: false, writableAll: false, index: 0 }, token },
};
const fromPrimary = {
  conn: { cmd, act: 'conn', key: '1', id: 1234 },
  ping: { cmd, act: 'ping', seq: 7 },
};

function time(label: string, verify: (message: Record<string, unknown>) => { ok: boolean }, message: Record<string, unknown>): void {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) if (!verify(message).ok) throw new Error(`${label} was refused`);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / N);
  }
  console.log(`${label.padEnd(16)} ${best.toFixed(1)} ns`);
}

for (const [act, message] of Object.entries(fromWorker)) time(`worker ${act}`, (m) => protocol.verifyWorkerMessage(m, token, undefined), message);
const { verifyPrimaryMessage } = protocol;
if (verifyPrimaryMessage !== undefined) {
  for (const [act, message] of Object.entries(fromPrimary)) time(`primary ${act}`, (m) => verifyPrimaryMessage(m, undefined), message);
}
