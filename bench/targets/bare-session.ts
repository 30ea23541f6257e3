// Bare node:http answering GET /profile with the same bytes as the Nova.ts target (headers and JSON), with no
// session work at all: the ceiling. POST /login hands out a random cookie (nothing is stored) so
// the benchmark can drive every target the same way; its figures are not reported.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { ready } from './ready.js';

const body = JSON.stringify({ username: 'user0' });
const server = createServer((req, res) => {
  if (req.url === '/profile' && req.method === 'GET') {
    // The same header bytes as the Nova.ts target's answer, its cache and security headers included.
    res.setHeader('server', 'Nova.ts');
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('cache-control', 'private, no-store');
    res.setHeader('vary', 'Cookie');
    res.setHeader('x-content-type-options', 'nosniff');
    res.end(body);
  } else if (req.url === '/login' && req.method === 'POST') {
    req.resume();
    req.on('end', () => {
      res.statusCode = 302;
      res.setHeader('location', '/');
      res.setHeader(
        'set-cookie',
        `session_id=${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}; Path=/; HttpOnly; SameSite=Lax`,
      );
      res.end();
    });
  } else {
    res.statusCode = 404;
    res.end();
  }
});
server.listen(0, '127.0.0.1', () => ready(server));
