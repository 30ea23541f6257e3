// Bare node:http answering the same bytes as the Nova.ts JSON route: the ceiling.
import { createServer } from 'node:http';
import { ready } from './ready.js';

const body = JSON.stringify({ hello: 'world' });
const server = createServer((req, res) => {
  if (req.url === '/json') {
    res.setHeader('server', 'Nova.ts');
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(body);
  } else {
    res.statusCode = 404;
    res.end();
  }
});
server.listen(0, '127.0.0.1', () => ready(server));
