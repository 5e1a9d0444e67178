import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { describe, expectTypeOf, it } from 'vitest';
import type { ClusterizedServer, ClusterOptions } from '@clusterize/core';
import { clusterize as clusterizeExpress } from '@clusterize/express';
import { clusterPlugin, type FastifyCluster } from '@clusterize/fastify';
import { clusterize as clusterizeKoa } from '@clusterize/koa';

// Type checks of the lines the READMEs show. Compiled by test/adapter-types.test.ts (tsc
// must accept it: every @ts-expect-error must still be an error) and never run, so nothing binds.
describe('the adapters as the README uses them', () => {
  it('express: clusterize(expressApp, { workers: 4 }).listen(3000)', () => {
    const usedBy = () => clusterizeExpress(express(), { workers: 4 }).listen(3000);
    expectTypeOf(usedBy).returns.toEqualTypeOf<ClusterizedServer>();
    const withFactory = () => clusterizeExpress(async () => express()).listen({ port: 3000, host: '0.0.0.0' }, (error) => error?.message);
    expectTypeOf(withFactory).returns.toEqualTypeOf<ClusterizedServer>();
    // The README's form: the callback's error is typed, not an implicit any.
    clusterizeExpress(express()).listen(3000, '0.0.0.0', (error) => expectTypeOf(error).toEqualTypeOf<Error | undefined>());
    // @ts-expect-error: a misspelt listen option is a type error
    clusterizeExpress(express()).listen({ prot: 3000 });
    // @ts-expect-error: a Koa app is not an Express app
    clusterizeExpress(new Koa());
  });

  it('koa: clusterize(koaApp, { workers: 4 }).listen(3000)', () => {
    const usedBy = () => clusterizeKoa(new Koa(), { workers: 4 }).listen(3000);
    clusterizeKoa(new Koa()).listen(3000, (error) => expectTypeOf(error).toEqualTypeOf<Error | undefined>());
    // @ts-expect-error: a misspelt option is a type error
    clusterizeKoa(new Koa(), { workerz: 2 });
    expectTypeOf(usedBy).returns.toEqualTypeOf<ClusterizedServer>();
    expectTypeOf(clusterizeKoa).parameter(1).toEqualTypeOf<ClusterOptions | undefined>();
    // @ts-expect-error: an Express app is not a Koa app
    expectTypeOf(clusterizeKoa).toBeCallableWith(express());
  });

  it('fastify: await fastify.register(clusterPlugin, { workers: 4 })', () => {
    const usedBy = async () => {
      const fastify = Fastify();
      await fastify.register(clusterPlugin, { workers: 4 });
      // @ts-expect-error: a misspelt option is a type error, not only a runtime one
      await fastify.register(clusterPlugin, { workerz: 4 });
      return fastify.cluster;
    };
    expectTypeOf(usedBy).returns.resolves.toEqualTypeOf<FastifyCluster>();
    expectTypeOf<FastifyCluster['role']>().toEqualTypeOf<'primary' | 'worker' | 'in-process'>();
    expectTypeOf<FastifyCluster['send']>().toEqualTypeOf<(message: unknown) => boolean>();
  });
});
