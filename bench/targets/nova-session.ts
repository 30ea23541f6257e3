// Nova.ts with its built-in sessions (memory store, default options), doing what the peers' targets
// do: GET /profile reads the username from the session, POST /login checks the form, regenerates
// the id and writes the username. Only `requestPlugin()` runs globally. BENCH_NOVA_BIND=1 also ties
// each login to its user (`session.bindUser`, as the example app's login does), which no peer can:
// that measures what sessions per user cost.
import { allow, createApp, json, redirect, redisStore, requestPlugin, session, status, type Context } from 'nova-ts';
import { ready } from './ready.js';

const bind = process.env.BENCH_NOVA_BIND === '1';

function checkPassword(ctx: Context) {
  const { username, password } = ctx.params;
  return typeof username === 'string' && username.length > 0 && password === 'password' ? allow({ username }) : false;
}

async function loginPost(ctx: Context<{ username: string }>) {
  await session.regenerate(ctx);
  if (bind) await session.bindUser(ctx, ctx.authData.username);
  await session.set(ctx, 'username', ctx.authData.username);
  return redirect('/');
}

async function profile(ctx: Context) {
  const username = await session.get(ctx, 'username');
  return username === undefined ? status(401) : json({ username });
}

const app = createApp({
  host: '127.0.0.1',
  port: 0,
  routes: [
    { prefix: '', security: false, routes: [['/profile', profile, { methods: ['get'] }]] },
    { prefix: '', security: checkPassword, routes: [['/login', loginPost, { methods: ['post'] }]] },
  ],
  plugins: [requestPlugin()],
  session: {
    secrets: [process.env.SESSION_SECRET ?? 'bench-secret-bench-secret-bench-secret-0123'],
    // SESSION_REDIS_URL: the Redis store, for the comparison with connect-redis.
    // BENCH_MAX_SESSIONS / BENCH_MAX_STORE_BYTES: room for a million sessions and more, as a
    // user holding that many in one process would configure it (bench/sessions.ts, novaSizing).
    ...(process.env.BENCH_MAX_SESSIONS ? { maxSessions: Number(process.env.BENCH_MAX_SESSIONS) } : {}),
    ...(process.env.BENCH_MAX_STORE_BYTES ? { maxStoreBytes: Number(process.env.BENCH_MAX_STORE_BYTES) } : {}),
    ...(process.env.SESSION_REDIS_URL ? { store: redisStore({ url: process.env.SESSION_REDIS_URL, prefix: `nova-bench:${process.pid}:` }) } : {}),
  },
});
const server = await app.listen();
ready(server);
