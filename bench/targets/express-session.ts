// express 5 + express-session with its recommended options and the default MemoryStore, answering
// the same two routes as the Nova.ts target.
import express from 'express';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { ready } from './ready.js';

declare module 'express-session' {
  interface SessionData {
    username: string;
  }
}

const app = express();
app.disable('x-powered-by');
app.use(express.urlencoded({ extended: false }));
app.use(
  session({
    secret: process.env.SESSION_SECRET ?? 'bench-secret-bench-secret-bench-secret-0123',
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax' },
    // SESSION_REDIS_URL: connect-redis on node-redis, as its README sets it up.
    ...(process.env.SESSION_REDIS_URL
      ? { store: new RedisStore({ client: await createClient({ url: process.env.SESSION_REDIS_URL }).connect(), prefix: `express-bench:${process.pid}:` }) }
      : {}),
  }),
);

app.post('/login', (req, res, next) => {
  const { username, password } = (req.body ?? {}) as Record<string, unknown>;
  if (typeof username !== 'string' || username.length === 0 || password !== 'password') {
    res.status(401).end();
    return;
  }
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.username = username;
    res.redirect(302, '/');
  });
});

app.get('/profile', (req, res) => {
  const username = req.session.username;
  if (username === undefined) res.status(401).end();
  else res.json({ username });
});

const server = app.listen(0, '127.0.0.1', () => ready(server));
