// express 5 + express-session with its recommended options and the default MemoryStore, answering
// the same two routes as the Nova.ts target.
import express from 'express';
import session from 'express-session';
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
