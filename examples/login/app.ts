import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { correlationId, createApp, errors, NovaError, rateLimit, requestPlugin, type App, type NovaConfigInput, type Plugin } from 'nova-ts';

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

/**
 * `SESSION_STORE` (`memory`, a `redis://`, `redis+cluster://host:port,…` or `postgres://` URL) and `SESSION_REPLICATION`
 * (a `redis://` or `nats://` URL, or `cluster`, set by `npm run cluster`) go to the framework's
 * `session.store` and `session.replication` as they are; `SESSION_LEASE_MS` (a shorter lease fences
 * a cut-off node sooner, at the cost of more heartbeats; tests use ~1 s) joins the replication.
 */
function storesFrom(env: NodeJS.ProcessEnv): Pick<NovaConfigInput['session'] & {}, 'store' | 'replication'> {
  const store = env.SESSION_STORE?.trim() || undefined;
  const url = env.SESSION_REPLICATION?.trim() || undefined;
  const leaseMs = milliseconds(env, 'SESSION_LEASE_MS');
  const replication = url !== undefined && leaseMs !== undefined ? { url, leaseMs } : url;
  return { ...(store !== undefined ? { store } : {}), ...(replication !== undefined ? { replication } : {}) };
}

/** The framework's configuration errors name config keys; this app's users set environment variables. */
const ENV_OF_KEY: Record<string, string> = {
  'session.store': 'SESSION_STORE',
  'session.replication': 'SESSION_REPLICATION',
  'session.replication.url': 'SESSION_REPLICATION',
  'session.replication.leaseMs': 'SESSION_LEASE_MS',
};

function namingEnv(err: unknown): unknown {
  if (!(err instanceof NovaError)) return err;
  const key = /^invalid configuration at "([^"]+)": /.exec(err.message);
  const name = key === null ? undefined : ENV_OF_KEY[key[1]!];
  if (key !== null && name !== undefined) return new Error(`${name} ${err.message.slice(key[0].length)}`, { cause: err });
  if (err.code === errors.sessionSecretsRequired.code) return new Error(`${err.message} (here: SESSION_SECRET, comma-separated)`, { cause: err });
  return err;
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
    throw new Error(
      `TLS_KEY and TLS_CERT go together: ${keyPath === undefined ? 'TLS_CERT' : 'TLS_KEY'} is set but ${keyPath === undefined ? 'TLS_KEY' : 'TLS_CERT'} is not`,
    );
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
 * `SESSION_STORE` (`memory`, `redis://…`, `redis+cluster://…` or `postgres://…`), `SESSION_REPLICATION`
 * (`redis://…`, `nats://…` or `cluster`), `SESSION_LEASE_MS` (the replicated store's lease),
 * `SESSION_MAX_STORE_BYTES` (the memory stores' byte budget; default a quarter of the heap limit),
 * `LOGIN_RATE_LIMIT` (login attempts per minute per address, default 20, `0` for none) and
 * `TLS_KEY`/`TLS_CERT` (PEM files: HTTPS with HTTP/2).
 */
export function buildApp(env: NodeJS.ProcessEnv = process.env): App {
  const secrets = env.SESSION_SECRET?.split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const idleTimeout = seconds(env, 'SESSION_IDLE_TIMEOUT');
  const absoluteTimeout = seconds(env, 'SESSION_ABSOLUTE_TIMEOUT');
  const maxStoreBytes = count(env, 'SESSION_MAX_STORE_BYTES');
  const loginLimit = loginLimits(env);
  const tls = tlsFrom(env);
  let app: App;
  try {
    app = createApp({
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
        ...storesFrom(env),
      },
    });
  } catch (err) {
    throw namingEnv(err);
  }
  return app;
}
