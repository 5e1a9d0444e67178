import http from 'node:http';
import express from 'express';
import { announce, BODY, burn, burnFor, listenOptions, stamp } from './serve.ts';

const app = express();
app.use((req, res, next) => {
  burn(burnFor(req.url));
  stamp(req, res);
  next();
});
app.get(['/', '/burn'], (_req, res) => {
  res.json(BODY);
});
const server = http.createServer(app);
server.listen(listenOptions(), () => announce(server.address()));
