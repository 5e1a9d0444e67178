import { once } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MAX_HELD_BYTES, MAX_WHOLE_LINE_BYTES, OutputRelay } from '../../packages/core/src/supervision/output-relay.ts';
import { OutputTail } from '../../packages/core/src/supervision/output-tail.ts';

/** A destination that keeps what it is given; with `hold`, it completes writes only when told to. */
function destination(highWaterMark = 1024, hold = false) {
  const writes: string[] = [];
  const pending: (() => void)[] = [];
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _encoding, callback) {
      writes.push(chunk.toString('latin1'));
      if (hold) pending.push(callback);
      else callback();
    },
  });
  const complete = () => {
    for (const callback of pending.splice(0)) callback();
  };
  return { stream, writes, complete };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('OutputRelay', () => {
  it('writes a chunk\'s complete lines at once and holds its partial last line until the line ends', async () => {
    const to = destination();
    const relay = new OutputRelay(to.stream);
    const from = new PassThrough();
    relay.add(from, () => {});
    from.write('one\ntwo\nthr');
    await tick();
    from.write('ee\nfour');
    await tick();
    expect(to.writes).toEqual(['one\ntwo\n', 'three\n']);
  });

  it('never puts one source\'s bytes inside another\'s line', async () => {
    const to = destination();
    const relay = new OutputRelay(to.stream);
    const a = new PassThrough();
    const b = new PassThrough();
    relay.add(a, () => {});
    relay.add(b, () => {});
    a.write('a1 begins');
    await tick();
    b.write('b1\nb2 begins');
    await tick();
    a.write(' and ends\n');
    await tick();
    b.write(' and ends\n');
    await tick();
    expect(to.writes).toEqual(['b1\n', 'a1 begins and ends\n', 'b2 begins and ends\n']);
  });

  it(`passes on a line longer than MAX_WHOLE_LINE_BYTES (${MAX_WHOLE_LINE_BYTES}) in pieces, and keeps one of that length whole`, async () => {
    const to = destination(4 * MAX_WHOLE_LINE_BYTES);
    const relay = new OutputRelay(to.stream);
    const from = new PassThrough();
    relay.add(from, () => {});
    const half = 'x'.repeat(MAX_WHOLE_LINE_BYTES / 2);
    from.write(half);
    from.write(half);
    from.write('\n');
    await tick();
    expect(to.writes.map((write) => write.length)).toEqual([MAX_WHOLE_LINE_BYTES + 1]);
    from.write(half);
    from.write(half);
    from.write('y');
    from.write('z\n');
    await tick();
    expect(to.writes.slice(1).map((write) => write.length)).toEqual([MAX_WHOLE_LINE_BYTES + 1, 2]);
  });

  it('writes a source\'s unfinished last line with a newline when the source ends', async () => {
    const to = destination();
    const relay = new OutputRelay(to.stream);
    const from = new PassThrough();
    relay.add(from, () => {});
    from.end('done\nno newline');
    await once(from, 'close');
    expect(to.writes).toEqual(['done\n', 'no newline\n']);
  });

  it('pauses every source while the destination is full and resumes them on its drain', async () => {
    const to = destination(8, true);
    const relay = new OutputRelay(to.stream);
    const a = new PassThrough();
    const b = new PassThrough();
    relay.add(a, () => {});
    relay.add(b, () => {});
    a.write('more than eight bytes\n');
    await tick();
    expect(relay.held).toBe(true);
    expect([a.isPaused(), b.isPaused()]).toEqual([true, true]);
    b.write('waits\n');
    await tick();
    expect(to.writes).toEqual(['more than eight bytes\n']);
    to.complete();
    await tick();
    expect(relay.held).toBe(false);
    expect(to.writes).toEqual(['more than eight bytes\n', 'waits\n']);
  });

  it('hands every chunk as read to `seen`', async () => {
    const relay = new OutputRelay(destination().stream);
    const from = new PassThrough();
    const seen: string[] = [];
    relay.add(from, (chunk) => seen.push(chunk.toString()));
    from.write('a\nb');
    await tick();
    expect(seen).toEqual(['a\nb']);
  });
});

describe('OutputTail', () => {
  it('keeps the last 40 lines, the unfinished one too, each cut to 500 characters', () => {
    const tail = new OutputTail();
    tail.record(Buffer.from(Array.from({ length: 50 }, (_, i) => `line ${i}\n`).join('')));
    tail.record(Buffer.from(`${'z'.repeat(600)}\nhalf`));
    tail.record(Buffer.from(' a line'));
    const last = tail.last();
    expect(last).toHaveLength(40);
    expect(last.slice(0, 2)).toEqual(['line 12', 'line 13']);
    expect(last.at(-2)).toBe('z'.repeat(500));
    expect(last.at(-1)).toBe('half a line');
    expect(tail.last(20)[0]).toBe('line 32');
  });

  it('joins a line split over chunks, whatever came before', () => {
    const tail = new OutputTail();
    tail.record(Buffer.from('old\n'.repeat(5)));
    tail.record(Buffer.from(`${'new\n'.repeat(45)}sta`));
    tail.record(Buffer.from('rt\n'));
    expect(tail.last(3)).toEqual(['new', 'new', 'start']);
    expect(tail.last()).toHaveLength(40);
  });

  it("leaves out clusterize's own stack frames and the header naming where its code threw, in a path or a file: URL", () => {
    const root = fileURLToPath(new URL('../../packages/core/', import.meta.url));
    const url = pathToFileURL(root).href;
    const tail = new OutputTail();
    tail.record(Buffer.from([
      `${url}dist/worker/guard.js:31`,
      '                throw error.error;',
      '                ^',
      '',
      'Error: bind EADDRINUSE 127.0.0.1:3000',
      '    at Object.listenOnPrimaryHandle [as callback] (node:net:2461:18)',
      `    at ${url}dist/worker/runtime.js:183:39`,
      `    at intoApp (${root}src/worker/guard.ts:17:9)`,
      '    at process.emit (node:events:526:24)',
      '    at main (/srv/app/server.js:3:1)',
      '',
    ].join('\n')));
    expect(tail.last()).toEqual([
      '',
      'Error: bind EADDRINUSE 127.0.0.1:3000',
      '    at Object.listenOnPrimaryHandle [as callback] (node:net:2461:18)',
      '    at process.emit (node:events:526:24)',
      '    at main (/srv/app/server.js:3:1)',
    ]);
  });

  it('names the first error Node.js printed, cut to 200 characters', () => {
    const tail = new OutputTail();
    expect(tail.firstError()).toBeUndefined();
    tail.record(Buffer.from(['starting', 'file:///srv/app.mjs:2', 'throw new TypeError(x);', '^', '', 'TypeError [ERR_X]: bad config', '    at file:///srv/app.mjs:2:7',
      '  [cause]: Error: deeper', `Error: ${'y'.repeat(300)}`, ''].join('\n')));
    expect(tail.firstError()).toBe('TypeError [ERR_X]: bad config');
    const long = new OutputTail();
    long.record(Buffer.from(`RangeError: ${'y'.repeat(300)}\n`));
    expect(long.firstError()).toBe(`RangeError: ${'y'.repeat(185)}...`);
  });
});

describe('a source held back (a worker starting)', () => {
  it('writes nothing until released, then what it held and the rest as it comes', async () => {
    const to = destination();
    const relay = new OutputRelay(to.stream);
    const from = new PassThrough();
    const source = relay.add(from, () => {}, true);
    from.write('one\ntwo\n');
    await tick();
    expect(to.writes).toEqual([]);
    source.release();
    from.write('three\n');
    await tick();
    expect(to.writes).toEqual(['one\ntwo\n', 'three\n']);
  });

  it('drops what it held, and the rest, when told to discard, also after its end', async () => {
    const to = destination();
    const relay = new OutputRelay(to.stream);
    const from = new PassThrough();
    const source = relay.add(from, () => {}, true);
    from.end('a stack trace\nlast words');
    await once(from, 'close');
    source.discard();
    source.release();
    await tick();
    expect(to.writes).toEqual([]);
    expect(relay.flushed).toBe(true);
  });

  it(`is written after all, as it comes, past MAX_HELD_BYTES (${MAX_HELD_BYTES})`, async () => {
    const to = destination(4 * MAX_HELD_BYTES);
    const relay = new OutputRelay(to.stream);
    const from = new PassThrough();
    const source = relay.add(from, () => {}, true);
    const line = `${'x'.repeat(1023)}\n`;
    for (let i = 0; i < MAX_HELD_BYTES / 1024; i++) from.write(line);
    await tick();
    expect(to.writes).toEqual([]);
    from.write(line);
    await tick();
    expect(to.writes.join('')).toBe(line.repeat(MAX_HELD_BYTES / 1024 + 1));
    source.discard();
    from.write('after\n');
    await tick();
    expect(to.writes.at(-1)).toBe('after\n');
  });
});
