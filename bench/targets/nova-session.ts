// The login example's routes on Nova.ts with its built-in sessions (memory store, default options):
// GET /profile reads the session, POST /login checks the form, regenerates the id and writes the
// username. Only `requestPlugin()` runs globally (the example's correlationId plugin is left out,
// since the peers do nothing like it).
import { createApp, redisStore, requestPlugin, type RoutesFunction } from 'nova-ts';
// Loaded at run time, not imported: the example is a TypeScript project of its own, whose
// SessionData declaration must not reach the framework's build.
const example = new URL('../../examples/login/router.js', import.meta.url).href;
const { routes } = (await import(example)) as { routes: RoutesFunction };
import { ready } from './ready.js';

const app = createApp({
  host: '127.0.0.1',
  port: 0,
  routes,
  plugins: [requestPlugin()],
  session: {
    secrets: [process.env.SESSION_SECRET ?? 'bench-secret-bench-secret-bench-secret-0123'],
    // SESSION_REDIS_URL: the Redis store, for the comparison with connect-redis.
    ...(process.env.SESSION_REDIS_URL ? { store: redisStore({ url: process.env.SESSION_REDIS_URL, prefix: `nova-bench:${process.pid}:` }) } : {}),
  },
});
const server = await app.listen();
ready(server);
