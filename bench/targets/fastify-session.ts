// fastify 5 + @fastify/cookie + @fastify/session with its default memory store and recommended
// options (a ≥32-character secret; `secure: false` because the benchmark speaks plain HTTP),
// answering the same two routes as the Nova.ts target.
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify from 'fastify';
import { ready } from './ready.js';

declare module 'fastify' {
  interface Session {
    username?: string;
  }
}

const app = Fastify({ logger: false });
// A tiny urlencoded body parser, as fastify has none built in.
app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
  done(null, Object.fromEntries(new URLSearchParams(body as string)));
});
await app.register(fastifyCookie);
await app.register(fastifySession, {
  secret: process.env.SESSION_SECRET ?? 'bench-secret-bench-secret-bench-secret-0123',
  saveUninitialized: false,
  cookie: { secure: false, httpOnly: true, sameSite: 'lax' },
});

app.post('/login', async (request, reply) => {
  const { username, password } = (request.body ?? {}) as Record<string, unknown>;
  if (typeof username !== 'string' || username.length === 0 || password !== 'password') {
    return reply.code(401).send();
  }
  await request.session.regenerate();
  request.session.set('username', username);
  return reply.redirect('/', 302);
});

app.get('/profile', async (request, reply) => {
  const username = request.session.get('username');
  if (username === undefined) return reply.code(401).send();
  return { username };
});

await app.listen({ host: '127.0.0.1', port: 0 });
ready(app.server);
