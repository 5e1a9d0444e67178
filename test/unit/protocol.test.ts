// The IPC protocol's checks, message by message and in both directions: what each side
// accepts, what it refuses and the reason it logs, and which messages may bring a descriptor.
import { describe, expect, it, vi } from 'vitest';
import { run } from '../helpers.ts';
import type { ClientHandle, ListenHandle } from '../../packages/core/src/node-internals.ts';
import {
  deliverPrimaryMessage, deliverWorkerMessage, NAMESPACE, verifyPrimaryMessage, verifyWorkerMessage,
  type MessageOf, type PrimaryHandle, type PrimaryMessage, type PrimaryMessageHandlers, type WorkerMessage, type WorkerMessageHandlers,
} from '../../packages/core/src/protocol.ts';

const TOKEN = '0123456789abcdef';

/** One valid message per act, with every optional field, so each field gets its row below. */
const workerMessages: { [A in WorkerMessage['act']]: MessageOf<WorkerMessage, A> } = {
  hello: { act: 'hello', pid: 4242 },
  listen: {
    act: 'listen', seq: 1,
    query: { address: '127.0.0.1', port: 0, addressType: 4, fd: null, flags: 0, backlog: 511, readableAll: false, writableAll: false, index: 0 },
  },
  unlisten: { act: 'unlisten', key: '1' },
  listenFailed: { act: 'listenFailed', key: '1', errno: -98 },
  ready: { act: 'ready' },
  accepting: { act: 'accepting', key: '1' },
  paused: { act: 'paused', key: '1' },
  acks: { act: 'acks', accepted: [1, 2], refused: [3], full: [4], lost: [5], room: ['1'], connections: 7 },
  passBack: { act: 'passBack', key: '1', connections: 12 },
  draining: { act: 'draining' },
  cut: { act: 'cut', connections: 2 },
  pong: { act: 'pong', seq: 3, rss: 52_428_800, delay: { mean: 0.4, p99: 1.2, max: 3.5 }, connections: 7, accepted: 300 },
  metrics: { act: 'metrics', seq: 4, json: '[]' },
  finalMetrics: { act: 'finalMetrics', json: '[]' },
  metricsRequest: { act: 'metricsRequest', seq: 5 },
  publish: { act: 'publish', topic: 'cache:invalidate', data: '{"key":"a"}' },
  request: { act: 'request', seq: 6, name: 'counter:add', data: '1' },
  leadWanted: { act: 'leadWanted', name: 'default' },
  leadWithdrawn: { act: 'leadWithdrawn', name: 'default' },
  leadEnded: { act: 'leadEnded', name: 'default', term: 3 },
};

const primaryMessages: { [A in PrimaryMessage['act']]: MessageOf<PrimaryMessage, A> } = {
  listening: {
    act: 'listening', seq: 1, errno: 0, key: '1', transport: 'shared', sockname: { address: '127.0.0.1', family: 'IPv4', port: 8080 },
    reportLoad: 25, ticketKeys: 'ab'.repeat(48),
  },
  accept: { act: 'accept', key: '1' },
  pause: { act: 'pause', key: '1' },
  share: { act: 'share', key: '1', cap: 10 },
  shed: { act: 'shed', key: '1', count: 2, cap: 5, hold: 1000 },
  conn: { act: 'conn', key: '1', id: 17, peer: { address: '203.0.113.7', port: 51_000, family: 'IPv4' } },
  drain: { act: 'drain', timeout: 10_000, signal: 'SIGTERM' },
  ping: { act: 'ping', seq: 9 },
  collectMetrics: { act: 'collectMetrics', seq: 2 },
  clusterMetrics: { act: 'clusterMetrics', seq: 2, text: '# HELP x\n' },
  published: { act: 'published', topic: 'cache:invalidate', data: '{"key":"a"}', from: 2 },
  reply: {
    act: 'reply', seq: 6, data: '2',
    error: { code: 'ERR_CLUSTERIZE_HANDLER_FAILED', message: 'the handler threw', thrown: { name: 'Error', message: 'boom', code: 'E_BOOM' } },
  },
  leadGranted: { act: 'leadGranted', name: 'default', term: 3 },
};

const OPTIONAL = new Set(['full', 'lost', 'room', 'peer', 'data', 'error']);

const signed = (message: object) => ({ cmd: NAMESPACE, ...message, token: TOKEN });
const fromPrimary = (message: object) => ({ cmd: NAMESPACE, ...message });
const checkWorker = (message: object, handle?: unknown) => verifyWorkerMessage(signed(message), TOKEN, handle);
const checkPrimary = (message: object, handle?: unknown) => verifyPrimaryMessage(fromPrimary(message), handle);

/** A value of another JSON type than `value`'s. */
const wrongType = (value: unknown): unknown => (typeof value === 'string' ? 7 : 'x');

const directions = [
  { from: 'a worker', messages: workerMessages as Record<string, Record<string, unknown>>, check: checkWorker },
  { from: 'the primary', messages: primaryMessages as Record<string, Record<string, unknown>>, check: checkPrimary },
];

const fakeHandle = () => ({ close: vi.fn() });

describe.each(directions)('messages from $from', ({ messages, check }) => {
  const acts = Object.keys(messages);

  it.each(acts)("a well-formed '%s' passes as it is", (act) => {
    const message = messages[act]!;
    expect(check(message)).toEqual({ ok: true, message: expect.objectContaining(message) });
  });

  const fields = acts.flatMap((act) => Object.keys(messages[act]!).filter((name) => name !== 'act').map((name) => [act, name] as const));

  it.each(fields)("'%s' with a %s of the wrong type is refused, naming the field", (act, name) => {
    const message = messages[act]!;
    const shown = typeof message[name] === 'string' ? '7' : '"x"';
    const verdict = check({ ...message, [name]: wrongType(message[name]) });
    expect(verdict).toEqual({ ok: false, kind: 'malformed message', reason: expect.stringMatching(new RegExp(`^malformed '${act}': ${name} must be .+, got ${shown}$`)) });
  });

  it.each(fields)("'%s' without its %s is refused unless the field is optional", (act, name) => {
    const { [name]: _left, ...rest } = messages[act]!;
    const verdict = check(rest);
    if (OPTIONAL.has(name)) expect(verdict.ok).toBe(true);
    else expect(verdict).toEqual({ ok: false, kind: 'malformed message', reason: expect.stringMatching(new RegExp(`^malformed '${act}': ${name} must be .+, got nothing$`)) });
  });

  it('an unknown act, or none, is refused as such', () => {
    for (const act of ['nope', '__proto__', 'toString', 'constructor', 'handback', 7, undefined]) {
      expect(check({ act })).toEqual({ ok: false, kind: 'unknown act', reason: `unknown act ${JSON.stringify(act)}` });
    }
  });
});

describe('values in range, field by field', () => {
  const refusals: [string, () => unknown, string][] = [
    ['a pid of 0', () => checkWorker({ ...workerMessages.hello, pid: 0 }), "malformed 'hello': pid must be an integer >= 1, got 0"],
    ['a fractional seq', () => checkWorker({ ...workerMessages.metricsRequest, seq: 1.5 }), "malformed 'metricsRequest': seq must be an integer >= 0, got 1.5"],
    ['a port above 65535', () => checkWorker({ act: 'listen', seq: 1, query: { ...workerMessages.listen.query, port: 65_536 } }),
      "malformed 'listen': query.port must be an integer from -1 to 65535, got 65536"],
    ['an unknown address type', () => checkWorker({ act: 'listen', seq: 1, query: { ...workerMessages.listen.query, addressType: 5 } }),
      "malformed 'listen': query.addressType must be 4 or 6 or -1 or null, got 5"],
    ['a null backlog', () => checkWorker({ act: 'listen', seq: 1, query: { ...workerMessages.listen.query, backlog: null } }),
      "malformed 'listen': query.backlog must be an integer >= 0 or absent, got null"],
    ['a query that is not an object', () => checkWorker({ act: 'listen', seq: 1, query: 'all' }), "malformed 'listen': query must be an object, got \"all\""],
    ['an errno of 0 for a failure', () => checkWorker({ ...workerMessages.listenFailed, errno: 0 }), "malformed 'listenFailed': errno must be an integer <= -1, got 0"],
    ['a negative id among the acks', () => checkWorker({ ...workerMessages.acks, accepted: [1, -1] }), "malformed 'acks': accepted[1] must be an integer >= 0, got -1"],
    ['100000 ids in one report', () => checkWorker({ ...workerMessages.acks, refused: Array(100_000).fill(1) }),
      "malformed 'acks': refused must be an array of at most 99999 items, each an integer >= 0, got an array of 100000 items"],
    ['a key of 4096 characters', () => checkWorker({ ...workerMessages.acks, room: ['k'.repeat(4096)] }),
      "malformed 'acks': room[0] must be a string of at most 4095 characters, got a string of 4096 characters"],
    ['a cut of no connections', () => checkWorker({ ...workerMessages.cut, connections: 0 }), "malformed 'cut': connections must be an integer >= 1, got 0"],
    ['a delay JSON turned into null (NaN)', () => checkWorker({ ...workerMessages.pong, delay: { mean: 0, p99: null, max: 0 } }),
      "malformed 'pong': delay.p99 must be a finite number >= 0, got null"],
    ['a negative rss', () => checkWorker({ ...workerMessages.pong, rss: -1 }), "malformed 'pong': rss must be a finite number >= 0, got -1"],
    ['an errno above 0', () => checkPrimary({ ...primaryMessages.listening, errno: 1 }), "malformed 'listening': errno must be an integer <= 0, got 1"],
    ['an unknown transport', () => checkPrimary({ ...primaryMessages.listening, transport: 'tcp' }),
      "malformed 'listening': transport must be \"forward\" or \"shared\" or \"self\", got \"tcp\""],
    ['a sockname without a port', () => checkPrimary({ ...primaryMessages.listening, sockname: { address: '::1', family: 'IPv6' } }),
      "malformed 'listening': sockname.port must be an integer >= 0, got nothing"],
    ['an unknown peer family', () => checkPrimary({ ...primaryMessages.conn, peer: { address: '10.0.0.1', port: 1, family: 'IPv5' } }),
      "malformed 'conn': peer.family must be \"IPv4\" or \"IPv6\", got \"IPv5\""],
    ['a fractional cap', () => checkPrimary({ ...primaryMessages.share, cap: 2.5 }), "malformed 'share': cap must be an integer >= 0 or null, got 2.5"],
    ['a topic of 257 characters', () => checkWorker({ ...workerMessages.publish, topic: 't'.repeat(257) }),
      "malformed 'publish': topic must be a string of at most 256 characters, got a string of 257 characters"],
    ['a term of 0', () => checkWorker({ ...workerMessages.leadEnded, term: 0 }), "malformed 'leadEnded': term must be an integer >= 1, got 0"],
    ['a reply error with a code of its own', () => checkPrimary({ ...primaryMessages.reply, error: { code: 'E_BOOM', message: 'boom' } }),
      "malformed 'reply': error.code must be \"ERR_CLUSTERIZE_NO_HANDLER\" or \"ERR_CLUSTERIZE_HANDLER_FAILED\" or \"ERR_CLUSTERIZE_NOT_JSON\" or \"ERR_CLUSTERIZE_MESSAGE_TOO_LARGE\", got \"E_BOOM\""],
  ];

  it.each(refusals)('%s is refused with its reason', (_, verdict, reason) => {
    expect(verdict()).toEqual({ ok: false, kind: 'malformed message', reason });
  });

  it('null where null means something passes: no cap, no sockname, no prom-client, no fd', () => {
    expect(checkPrimary({ ...primaryMessages.share, cap: null }).ok).toBe(true);
    expect(checkPrimary({ ...primaryMessages.listening, sockname: null }).ok).toBe(true);
    expect(checkWorker({ ...workerMessages.metrics, json: null }).ok).toBe(true);
    expect(checkWorker({ act: 'listen', seq: 1, query: { address: null, port: -1, addressType: -1, fd: 3, index: 0 } }).ok).toBe(true);
  });
});

describe("a worker's token", () => {
  it('is checked before anything else: a wrong or missing one is refused as such, whatever the message', () => {
    const wrong = { kind: 'wrong or missing token', reason: 'wrong or missing token', ok: false };
    expect(verifyWorkerMessage({ ...signed(workerMessages.ready), token: 'guess' }, TOKEN, undefined)).toEqual(wrong);
    expect(verifyWorkerMessage({ cmd: NAMESPACE, act: 'ready' }, TOKEN, undefined)).toEqual(wrong);
    expect(verifyWorkerMessage({ cmd: NAMESPACE, act: 'acks', accepted: 'all' }, TOKEN, undefined)).toEqual(wrong);
  });
});

describe('descriptors', () => {
  const carriers = { worker: ['passBack'], primary: ['listening', 'accept', 'conn'] };

  it("pass with the messages whose schema carries one (passBack; listening, accept, conn), and may be missing on arrival", () => {
    for (const act of carriers.worker) {
      expect(checkWorker(workerMessages[act as 'passBack'], fakeHandle()).ok).toBe(true);
      expect(checkWorker(workerMessages[act as 'passBack'], undefined).ok).toBe(true);
    }
    for (const act of carriers.primary) {
      expect(checkPrimary(primaryMessages[act as 'conn'], fakeHandle()).ok).toBe(true);
      expect(checkPrimary(primaryMessages[act as 'conn'], undefined).ok).toBe(true);
    }
  });

  it('refuse any other message they come with', () => {
    for (const act of Object.keys(workerMessages).filter((act) => !carriers.worker.includes(act))) {
      expect(checkWorker(workerMessages[act as 'ready'], fakeHandle())).toEqual({ ok: false, kind: 'malformed message', reason: `'${act}' came with a descriptor it does not carry` });
    }
    for (const act of Object.keys(primaryMessages).filter((act) => !carriers.primary.includes(act))) {
      expect(checkPrimary(primaryMessages[act as 'ping'], fakeHandle())).toEqual({ ok: false, kind: 'malformed message', reason: `'${act}' came with a descriptor it does not carry` });
    }
  });

  it('reach the handler of a message that carries one, and no other', () => {
    const calls: unknown[][] = [];
    const record = (...args: unknown[]) => void calls.push(args);
    const workerHandlers = Object.fromEntries(Object.keys(workerMessages).map((act) => [act, record])) as WorkerMessageHandlers<string>;
    const client = fakeHandle();
    deliverWorkerMessage(workerHandlers, 'worker 1', workerMessages.passBack, client);
    deliverWorkerMessage(workerHandlers, 'worker 1', workerMessages.ready, undefined);
    const primaryHandlers = Object.fromEntries(Object.keys(primaryMessages).map((act) => [act, record])) as PrimaryMessageHandlers;
    // Node gives null for "no handle" in places: handlers only ever see undefined.
    deliverPrimaryMessage(primaryHandlers, primaryMessages.conn, null);
    expect(calls).toEqual([
      ['worker 1', workerMessages.passBack, client],
      ['worker 1', workerMessages.ready, undefined],
      [primaryMessages.conn, undefined],
    ]);
  });

  it('are typed in the handler tables: a handle for the messages that carry one, none for the others', () => {
    const noop = () => {};
    const primary: PrimaryMessageHandlers = {
      listening: (_message, handle: ListenHandle | undefined) => void handle,
      accept: (_message, handle: ListenHandle | undefined) => void handle,
      conn: (_message, handle: ClientHandle | undefined) => void handle,
      // @ts-expect-error: 'pause' carries no descriptor, so its handler gets none.
      pause: (_message, _handle: unknown) => {},
      share: noop, shed: noop, drain: noop, ping: noop, collectMetrics: noop, clusterMetrics: noop, published: noop, reply: noop, leadGranted: noop,
    };
    // @ts-expect-error: a table without a handler for every act does not compile.
    const missing: WorkerMessageHandlers<number> = { hello: noop };
    expect([primary, missing]).toHaveLength(2);
  });

  it('are typed where the primary sends them (WorkerProcess.post): of the kind the message carries, or none', () => {
    const socket = { listen: () => 0, onconnection: null, close: () => {} } satisfies ListenHandle;
    const sent: PrimaryHandle<typeof primaryMessages.accept>[] = [socket];
    const none: PrimaryHandle<typeof primaryMessages.ping>[] = [];
    // @ts-expect-error: 'ping' carries no descriptor, so none may be given with it.
    none.push(socket);
    expect([sent, none]).toHaveLength(2);
  });
});

describe('where code generation from strings is disallowed (node --disallow-code-generation-from-strings)', () => {
  it('the checks, which then loop over each shape\'s keys, give the same verdicts', async () => {
    const cases = [
      ...Object.values(workerMessages).map(signed),
      signed({ ...workerMessages.acks, accepted: [1, -1] }),
      signed({ ...workerMessages.pong, delay: { mean: 0, max: 0 } }),
      signed({ act: 'listen', seq: 1, query: { ...workerMessages.listen.query, port: 65_536 } }),
      signed({ act: 'acks', accepted: [], refused: [], connections: 0 }),
    ];
    const protocol = new URL('../../packages/core/dist/protocol.js', import.meta.url).href;
    const script = `const { verifyWorkerMessage } = await import(${JSON.stringify(protocol)});
      let disallowed = false;
      try { new Function(''); } catch { disallowed = true; }
      const verdicts = JSON.parse(process.env.CASES).map((message) => verifyWorkerMessage(message, ${JSON.stringify(TOKEN)}, undefined));
      console.log(JSON.stringify({ disallowed, verdicts }));`;
    const child = run(['--disallow-code-generation-from-strings', '--input-type=module', '-e', script], { env: { CASES: JSON.stringify(cases) } });
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(JSON.parse(child.output())).toEqual({ disallowed: true, verdicts: cases.map((message) => verifyWorkerMessage(message, TOKEN, undefined)) });
  });
});
