import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  clusterTransport,
  correlationId,
  createApp,
  natsTransport,
  postgresStore,
  rateLimit,
  redisStore,
  redisTransport,
  replicatedStore,
  requestPlugin,
  type App,
  type Plugin,
  type SessionStore,
} from 'nova-ts';

/** Under `npm run cluster`, say which worker (by pid) answered: new connections land on different ones. */
const servedBy: Plugin = {
  name: 'served-by',
  preRequest(ctx) {
    ctx.setHeader('x-nova-worker', String(process.pid));
  },
};
import { routes } from './router.js';

/** Read a number of seconds from the environment, or fail with a message naming the variable. */
function seconds(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number of seconds, got "${raw}"`);
  return value;
}

/** Read a whole number of milliseconds from the environment, or fail with a message naming the variable. */
function milliseconds(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number of milliseconds, got "${raw}"`);
  return value;
}

/**
 * `LOGIN_RATE_LIMIT`: login attempts (POST /login) per minute per client address; default 20,
 * `0` turns the limit off (for benchmarks and load tests that log in from one address).
 */
function loginLimits(env: NodeJS.ProcessEnv): Plugin[] {
  const raw = env.LOGIN_RATE_LIMIT?.trim();
  if (raw === undefined || raw === '') return [rateLimit({ name: 'login', max: 20, window: 60 })];
  const max = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(max)) {
    throw new Error(`LOGIN_RATE_LIMIT must be a whole number of login attempts per minute (0 turns the limit off), got "${raw}"`);
  }
  return max === 0 ? [] : [rateLimit({ name: 'login', max, window: 60 })];
}

/** Read a positive whole number from the environment, or fail with a message naming the variable. */
function count(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number, got "${raw}"`);
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
 * `SESSION_REPLICATION`: a `redis://` or `nats://` URL, or `cluster` (Node cluster IPC, set by
 * `npm run cluster`), runs the memory store replicated to every node on that transport.
 */
function replicationFrom(env: NodeJS.ProcessEnv, secrets: string[] | undefined): SessionStore | undefined {
  const spec = env.SESSION_REPLICATION?.trim();
  if (spec === undefined || spec === '') return undefined;
  if (env.SESSION_STORE !== undefined && !['', 'memory'].includes(env.SESSION_STORE.trim())) {
    throw new Error('SESSION_REPLICATION replicates the memory store: leave SESSION_STORE unset (or "memory") when using it');
  }
  if (secrets === undefined || secrets.length === 0) {
    throw new Error('SESSION_REPLICATION needs SESSION_SECRET: every node must sign cookies and cluster messages with the same secret');
  }
  const scheme = spec.split(':', 1)[0]!.toLowerCase();
  const transport =
    scheme === 'redis' || scheme === 'rediss' ? redisTransport({ url: spec })
    : scheme === 'nats' || scheme === 'tls' ? natsTransport({ servers: spec })
    : spec === 'cluster' ? clusterTransport()
    : undefined;
  if (transport === undefined) {
    throw new Error(`SESSION_REPLICATION must be a redis:// or nats:// URL, or "cluster" (got a "${scheme}:" value)`);
  }
  // A shorter lease fences a cut-off node sooner, at the cost of more heartbeats (tests use ~1 s).
  const leaseMs = milliseconds(env, 'SESSION_LEASE_MS');
  return replicatedStore({ transport, secret: secrets, ...(leaseMs !== undefined ? { leaseMs } : {}) });
}

/**
 * `TLS_KEY` and `TLS_CERT`: paths of a PEM key and certificate (chain). With both, the app serves
 * HTTPS with HTTP/2 (and HTTP/1.1 for clients without it); one without the other is a mistake.
 */
function tlsFrom(env: NodeJS.ProcessEnv): { key: Buffer; cert: Buffer } | undefined {
  const keyPath = env.TLS_KEY?.trim() || undefined;
  const certPath = env.TLS_CERT?.trim() || undefined;
  if (keyPath === undefined && certPath === undefined) return undefined;
  if (keyPath === undefined || certPath === undefined) {
    throw new Error(`TLS_KEY and TLS_CERT go together: ${keyPath === undefined ? 'TLS_CERT' : 'TLS_KEY'} is set but ${keyPath === undefined ? 'TLS_KEY' : 'TLS_CERT'} is not`);
  }
  const read = (name: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  return { key: read('TLS_KEY', keyPath), cert: read('TLS_CERT', certPath) };
}

/**
 * The example app, configured from the environment: `PORT`, `SESSION_SECRET` (comma-separated,
 * the first signs), `SESSION_IDLE_TIMEOUT` and `SESSION_ABSOLUTE_TIMEOUT` (seconds),
 * `SESSION_STORE` (`memory`, `redis://…` or `postgres://…`), `SESSION_REPLICATION`
 * (`redis://…`, `nats://…` or `cluster`), `SESSION_LEASE_MS` (the replicated store's lease),
 * `SESSION_MAX_STORE_BYTES` (the memory stores' byte budget; default a quarter of the heap limit),
 * `LOGIN_RATE_LIMIT` (login attempts per minute per address, default 20, `0` for none) and
 * `TLS_KEY`/`TLS_CERT` (PEM files: HTTPS with HTTP/2).
 */
export function buildApp(env: NodeJS.ProcessEnv = process.env): App {
  const secrets = env.SESSION_SECRET?.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const idleTimeout = seconds(env, 'SESSION_IDLE_TIMEOUT');
  const absoluteTimeout = seconds(env, 'SESSION_ABSOLUTE_TIMEOUT');
  const maxStoreBytes = count(env, 'SESSION_MAX_STORE_BYTES');
  const store = replicationFrom(env, secrets) ?? storeFrom(env);
  const loginLimit = loginLimits(env);
  const tls = tlsFrom(env);
  const app: App = createApp({
    ...(tls !== undefined ? { tls } : {}),
    port: env.PORT === undefined || env.PORT === '' ? 8080 : Number(env.PORT),
    // `/ready` asks the app on each request, long after `app` is assigned.
    routes: (environment) => routes(environment, () => app.readiness(), loginLimit),
    plugins: [correlationId(), requestPlugin(), ...(cluster.isWorker ? [servedBy] : [])],
    views: { dir: fileURLToPath(new URL('./views', import.meta.url)) },
    session: {
      ...(secrets && secrets.length > 0 ? { secrets } : {}),
      ...(idleTimeout !== undefined ? { idleTimeout } : {}),
      ...(absoluteTimeout !== undefined ? { absoluteTimeout } : {}),
      ...(maxStoreBytes !== undefined ? { maxStoreBytes } : {}),
      ...(store !== undefined ? { store } : {}),
    },
  });
  return app;
}
