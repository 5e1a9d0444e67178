import { describe, expect, it } from 'vitest';
import { exclusively } from '../../packages/core/src/node-internals.ts';

// A worker binds every UDP socket itself (node-internals.ts, 16): each form of bind() becomes
// the options form with exclusive: true, so dgram never hands it to the cluster.
describe('exclusively: bind() arguments made exclusive', () => {
  const done = () => {};

  it('takes every form of bind()', () => {
    expect(exclusively([])).toEqual([{ port: 0, exclusive: true }]);
    expect(exclusively([done])).toEqual([{ port: 0, exclusive: true }, done]);
    expect(exclusively([41234])).toEqual([{ port: 41234, exclusive: true }]);
    expect(exclusively([41234, done])).toEqual([{ port: 41234, exclusive: true }, done]);
    expect(exclusively([41234, '127.0.0.1', done])).toEqual([{ port: 41234, address: '127.0.0.1', exclusive: true }, done]);
    expect(exclusively([{ port: 0, address: '::1', exclusive: false }, done])).toEqual([{ port: 0, address: '::1', exclusive: true }, done]);
    expect(exclusively([{ fd: 5 }])).toEqual([{ fd: 5, exclusive: true }]);
  });

  it('leaves a handle passed to bind() alone', () => {
    const handle = { recvStart: () => 0 };
    expect(exclusively([handle])).toEqual([handle]);
  });
});
