import Koa from 'koa';
import { describe } from 'vitest';
import { clusterize } from '@clusterize/koa';
import { itHasTheAdapterApi, itServesOnACluster } from './framework-suite.ts';

function createApp() {
  const app = new Koa();
  app.use((ctx) => { ctx.body = { pid: process.pid }; });
  return app;
}

describe('@clusterize/koa in-process', () => {
  itHasTheAdapterApi(clusterize, createApp, /expected a Koa app/);
});

describe('@clusterize/koa on a cluster', () => {
  itServesOnACluster('koa-app.mjs');
});
