import { currentWorker, startCluster, type ClusterWorker } from '@clusterize/core';
import { describe, expectTypeOf, it } from 'vitest';

// The app declares its topics and requests once, by declaration merging, as the README
// shows; publish, subscribe, request and handle then check names, payloads and replies, in
// the workers and in the primary alike. Compiled by test/adapter-types.test.ts, never run.
declare module '@clusterize/core' {
  interface ClusterizeTopics {
    'cache:invalidate': { key: string };
    'config:reload': undefined;
  }
  interface ClusterizeRequests {
    'counter:add': (by: number) => number;
    'user:get': (id: string) => { name: string } | null;
    'time:now': () => number;
  }
}

describe('working together, typed', () => {
  it('in a worker: publish, subscribe, request and lead', async () => {
    const worker = currentWorker()!;
    worker.publish('cache:invalidate', { key: 'user:1' });
    worker.publish('config:reload', undefined);
    // @ts-expect-error: the data of 'cache:invalidate' is { key: string }
    worker.publish('cache:invalidate', { key: 1 });
    // @ts-expect-error: an undeclared topic
    worker.publish('cache:invalidat', { key: 'user:1' });
    const unsubscribe = worker.subscribe('cache:invalidate', (data, from) => {
      expectTypeOf(data).toEqualTypeOf<{ key: string }>();
      expectTypeOf(from).toEqualTypeOf<number | 'primary'>();
    });
    expectTypeOf(unsubscribe).toEqualTypeOf<() => void>();

    expectTypeOf(await worker.request('counter:add', 2)).toEqualTypeOf<number>();
    expectTypeOf(await worker.request('user:get', 'u1', { timeout: 500 })).toEqualTypeOf<{ name: string } | null>();
    expectTypeOf(await worker.request('time:now')).toEqualTypeOf<number>();
    await worker.request('time:now', undefined, { timeout: 100 });
    // @ts-expect-error: 'counter:add' takes a number
    await worker.request('counter:add', '2');
    // @ts-expect-error: 'counter:add' needs its payload
    await worker.request('counter:add');
    // @ts-expect-error: an undeclared request
    await worker.request('counter:ad', 2);

    const resign = worker.lead((signal, term) => {
      expectTypeOf(signal).toEqualTypeOf<AbortSignal>();
      expectTypeOf(term).toEqualTypeOf<number>();
    }, { name: 'cron' });
    expectTypeOf(resign).toEqualTypeOf<() => void>();
    expectTypeOf(worker.isLeader).toEqualTypeOf<boolean>();
    worker.on('lead', (term, name) => {
      expectTypeOf(term).toEqualTypeOf<number>();
      expectTypeOf(name).toEqualTypeOf<string>();
    });
  });

  it('in the primary: handle, publish and subscribe', async () => {
    const cluster = await startCluster({ workers: 2 });
    let count = 0;
    cluster.handle('counter:add', (by, worker) => {
      expectTypeOf(by).toEqualTypeOf<number>();
      expectTypeOf(worker).toEqualTypeOf<ClusterWorker>();
      return count += by;
    });
    cluster.handle('user:get', async (id) => (id === 'u1' ? { name: 'Ada' } : null));
    // @ts-expect-error: 'counter:add' replies with a number
    cluster.handle('counter:add', () => 'many');
    // @ts-expect-error: an undeclared request
    cluster.handle('counter:sub', () => 1);
    cluster.publish('cache:invalidate', { key: 'user:1' });
    // @ts-expect-error: the data of 'cache:invalidate' is { key: string }
    cluster.publish('cache:invalidate', 'user:1');
    cluster.subscribe('cache:invalidate', (data) => expectTypeOf(data).toEqualTypeOf<{ key: string }>());
    cluster.on('lead', (worker, term) => {
      expectTypeOf(worker).toEqualTypeOf<ClusterWorker>();
      expectTypeOf(term).toEqualTypeOf<number>();
    });
    expectTypeOf(cluster.leader()).toEqualTypeOf<ClusterWorker | undefined>();
  });
});
