import http from 'node:http';
import { announce, BODY, burn, burnFor, listenOptions, stamp } from './serve.ts';

const body = JSON.stringify(BODY);

const server = http.createServer((req, res) => {
  burn(burnFor(req.url));
  stamp(req, res);
  res.setHeader('content-type', 'application/json');
  res.end(body);
});
server.listen(listenOptions(), () => announce(server.address()));
