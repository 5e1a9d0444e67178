import express from 'express';
import { describe } from 'vitest';
import { clusterize } from '@clusterize/express';
import { itHasTheAdapterApi, itServesOnACluster } from './framework-suite.ts';

function createApp() {
  const app = express();
  app.get('/', (_req, res) => res.json({ pid: process.pid }));
  return app;
}

describe('@clusterize/express in-process', () => {
  itHasTheAdapterApi(clusterize, createApp, /expected an Express app/);
});

describe('@clusterize/express on a cluster', () => {
  itServesOnACluster('express-app.mjs');
});
