import { fileURLToPath } from 'node:url';
import { correlationId, createApp, postgresStore, redisStore, requestPlugin, type App, type SessionStore } from 'nova-ts';
import { routes } from './router.js';

/** Read a number of seconds from the environment, or fail with a message naming the variable. */
function seconds(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number of seconds, got "${raw}"`);
  return value;
}

/** `SESSION_STORE`: `memory` (the default), a `redis://` URL or a `postgres://` URL. */
function storeFrom(env: NodeJS.ProcessEnv): SessionStore | undefined {
  const spec = env.SESSION_STORE?.trim();
  if (spec === undefined || spec === '' || spec === 'memory') return undefined;
  const scheme = spec.split(':', 1)[0]!.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') return redisStore({ url: spec });
  if (scheme === 'postgres' || scheme === 'postgresql') return postgresStore({ url: spec });
  // Only the scheme is echoed: the rest of a URL may hold a password.
  throw new Error(`SESSION_STORE must be "memory", a redis:// URL or a postgres:// URL (got a "${scheme}:" value)`);
}

/**
 * The example app, configured from the environment: `PORT`, `SESSION_SECRET` (comma-separated,
 * the first signs), `SESSION_IDLE_TIMEOUT` and `SESSION_ABSOLUTE_TIMEOUT` (seconds), and
 * `SESSION_STORE` (`memory`, `redis://…` or `postgres://…`).
 */
export function buildApp(env: NodeJS.ProcessEnv = process.env): App {
  const secrets = env.SESSION_SECRET?.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const idleTimeout = seconds(env, 'SESSION_IDLE_TIMEOUT');
  const absoluteTimeout = seconds(env, 'SESSION_ABSOLUTE_TIMEOUT');
  const store = storeFrom(env);
  return createApp({
    port: env.PORT === undefined || env.PORT === '' ? 8080 : Number(env.PORT),
    routes,
    plugins: [correlationId(), requestPlugin()],
    views: { dir: fileURLToPath(new URL('./views', import.meta.url)) },
    session: {
      ...(secrets && secrets.length > 0 ? { secrets } : {}),
      ...(idleTimeout !== undefined ? { idleTimeout } : {}),
      ...(absoluteTimeout !== undefined ? { absoluteTimeout } : {}),
      ...(store !== undefined ? { store } : {}),
    },
  });
}
