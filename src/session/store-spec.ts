/**
 * `session.store` and `session.replication` given as URLs: what each accepts (checked with the
 * rest of the configuration), and the store `createApp` builds from them. The framework makes the
 * clients, so it owns them: the store closes them when the app stops. One list of secrets,
 * `session.secrets`, signs cookies and authenticates the replication bus; a store that outlives
 * the process or spans nodes refuses to start without it.
 */
import { errors } from '../errors.js';
import { clusterTransport } from '../pubsub/transports/cluster.js';
import { natsTransport } from '../pubsub/transports/nats.js';
import { redisTransport } from '../pubsub/transports/redis.js';
import type { Transport } from '../pubsub/transport.js';
import { replicatedStore } from './replication/store.js';
import { appSecrets, hasAppSecretsHook, timingProblem, type ReplicatedStoreOptions } from './replication/types.js';
import type { SessionStore } from './store.js';
import { memoryStore } from './stores/memory.js';
import { postgresStore } from './stores/postgres.js';
import { redisStore } from './stores/redis.js';
import { clusterNodes } from './stores/redis-connection.js';

/**
 * `session.replication` as an object: the transport's URL and the replicated store's options
 * (see `replicatedStore`). The secret is always `session.secrets`.
 *
 * @example
 * ```ts
 * createApp({ routes, session: { secrets, replication: { url: 'nats://10.0.0.5:4222', leaseMs: 2000, partition: 'serve-stale' } } });
 * ```
 */
export interface ReplicationOptions extends Omit<ReplicatedStoreOptions, 'transport' | 'secret' | 'warn'> {
  /** `redis://…`, `rediss://…`, `nats://…` (or `tls://…`), or `cluster` (Node cluster IPC). */
  url: string;
}

const STORE_FORMS = '"memory", a redis:// or rediss:// URL, a redis+cluster://host:port,… URL, a postgres:// or postgresql:// URL, or a session store object';
const REPLICATION_FORMS = 'a redis:// or rediss:// URL, a nats:// (or tls://) URL, "cluster", or { url, leaseMs, partition, … }';
const REPLICATION_KEYS = new Set([
  'url',
  'cluster',
  'joinTimeoutMs',
  'barrierTimeoutMs',
  'sweepIntervalMs',
  'repairDelayMs',
  'leaseMs',
  'heartbeatMs',
  'driftMs',
  'partition',
]);

type StoreKind = 'memory' | 'redis' | 'postgres';
type TransportKind = 'redis' | 'nats' | 'cluster';

/** The scheme, lowercased, without its colon; only it is ever echoed: the rest of a URL may hold a password. */
function schemeOf(spec: string): string | undefined {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(spec);
  return match?.[1]?.toLowerCase();
}

function got(spec: string): string {
  const scheme = schemeOf(spec);
  return scheme === undefined ? 'got a value with no URL scheme' : `got a "${scheme}:" value`;
}

function parses(spec: string): boolean {
  const cluster = clusterNodes(spec);
  // A cluster URL lists several host:port seeds, which URL() cannot parse: check each one.
  if (cluster === undefined && /^rediss?\+cluster:/i.test(spec)) return false;
  if (cluster !== undefined) return cluster.nodes.length > 0 && cluster.nodes.every((node) => /:\d+$/.test(node) && parses(node));
  try {
    new URL(spec);
    return true;
  } catch {
    return false;
  }
}

function storeKind(spec: string): StoreKind | undefined {
  if (spec === 'memory') return 'memory';
  const scheme = schemeOf(spec);
  if (scheme === 'redis' || scheme === 'rediss' || scheme === 'redis+cluster' || scheme === 'rediss+cluster') return 'redis';
  if (scheme === 'postgres' || scheme === 'postgresql') return 'postgres';
  return undefined;
}

function transportKind(spec: string): TransportKind | undefined {
  if (spec === 'cluster') return 'cluster';
  const scheme = schemeOf(spec);
  if (scheme === 'redis' || scheme === 'rediss') return 'redis';
  if (scheme === 'nats' || scheme === 'tls') return 'nats';
  return undefined;
}

/** A problem found in a configuration value: where under the key, and what. */
export interface SpecProblem {
  path: string[];
  message: string;
}

/**
 * What is wrong with a `session.store` value, or undefined.
 *
 * @example
 * ```ts
 * storeProblem('mongodb://h/db'); // { path: [], message: 'must be "memory", a redis:// … (got a "mongodb:" value)' }
 * ```
 */
export function storeProblem(value: unknown): SpecProblem | undefined {
  if (typeof value === 'object' && value !== null) {
    return typeof (value as SessionStore).getValue === 'function'
      ? undefined
      : { path: [], message: `expected ${STORE_FORMS} (an object with getValue/setValue/deleteValue/rotate)` };
  }
  if (typeof value !== 'string') return { path: [], message: `expected ${STORE_FORMS}` };
  const kind = storeKind(value);
  if (kind === undefined) return { path: [], message: `must be ${STORE_FORMS} (${got(value)})` };
  if (kind !== 'memory' && !parses(value)) return { path: [], message: `is not a valid ${schemeOf(value)}:// URL` };
  return undefined;
}

/**
 * What is wrong with a `session.replication` value, or undefined; `store` is `session.store`
 * (replication replicates the memory store, so another store is a mistake).
 *
 * @example
 * ```ts
 * replicationProblem('amqp://h', undefined); // { path: [], message: 'must be a redis:// … (got a "amqp:" value)' }
 * ```
 */
export function replicationProblem(value: unknown, store: unknown): SpecProblem | undefined {
  const own = ownProblem(value);
  if (own !== undefined) return own;
  if (store !== undefined && store !== 'memory') {
    return { path: [], message: 'replicates the memory store, which it builds itself: leave session.store unset (or "memory") when using it' };
  }
  return undefined;
}

function ownProblem(value: unknown): SpecProblem | undefined {
  if (typeof value === 'string') return urlProblem(value, []);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { path: [], message: `expected ${REPLICATION_FORMS}` };
  const unknown = Object.keys(value).filter((k) => !REPLICATION_KEYS.has(k));
  if (unknown.length > 0) return { path: [unknown.join(', ')], message: 'unknown key' };
  const options = value as Partial<ReplicationOptions>;
  if (typeof options.url !== 'string') return { path: ['url'], message: 'expected a redis:// or nats:// URL, or "cluster"' };
  const url = urlProblem(options.url, ['url']);
  if (url !== undefined) return url;
  if (options.cluster !== undefined && (typeof options.cluster !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(options.cluster))) {
    return { path: ['cluster'], message: 'a cluster name is 1-64 letters, digits, "_" or "-"' };
  }
  const timing = timingProblem(options);
  return timing === undefined ? undefined : { path: [timing.key], message: timing.message };
}

function urlProblem(spec: string, path: string[]): SpecProblem | undefined {
  const kind = transportKind(spec);
  if (kind === undefined) return { path, message: `must be ${REPLICATION_FORMS} (${got(spec)})` };
  if (kind !== 'cluster' && !parses(spec)) return { path, message: `is not a valid ${schemeOf(spec)}:// URL` };
  return undefined;
}

/** `session` as `createApp` has checked it: the parts this module reads. */
export interface SessionStoreSettings {
  secrets?: readonly string[] | undefined;
  store?: string | SessionStore | undefined;
  replication?: string | ReplicationOptions | undefined;
}

/**
 * The session store an app runs with: the one passed in, one built from `session.store`'s or
 * `session.replication`'s URL, or a memory store. Refuses a durable or replicated store without
 * `session.secrets` (`NOVA_ERR_SESSION_SECRETS_REQUIRED`), hands the secrets to a replicated store
 * passed without its own, and refuses one whose own differ (`NOVA_ERR_SESSION_SECRET_MISMATCH`).
 * Values are checked by `loadConfig` first.
 *
 * @example
 * ```ts
 * const store = sessionStoreFrom({ secrets: [secret], replication: 'nats://127.0.0.1:4222' }, console.warn);
 * ```
 */
export function sessionStoreFrom(session: SessionStoreSettings, warn: (message: string) => void): SessionStore {
  const { store, replication } = session;
  const secrets = session.secrets !== undefined && session.secrets.length > 0 ? session.secrets : undefined;
  if (replication !== undefined) {
    if (secrets === undefined) throw errors.sessionSecretsRequired('Replication (session.replication)');
    const { url, ...options } = typeof replication === 'string' ? { url: replication } : replication;
    return replicatedStore({ ...options, transport: transportFrom(url), secret: [...secrets], warn });
  }
  if (typeof store === 'string') {
    const kind = storeKind(store);
    if (kind === 'memory' || kind === undefined) return memoryStore();
    if (secrets === undefined) throw errors.sessionSecretsRequired(`The ${kind} store (session.store)`);
    return kind === 'redis' ? redisStore({ url: store }) : postgresStore({ url: store });
  }
  if (store === undefined) return memoryStore();
  if (hasAppSecretsHook(store)) {
    if (secrets === undefined) throw errors.sessionSecretsRequired('The replicated store (session.store)');
    if (store[appSecrets](secrets) === 'different') throw errors.sessionSecretMismatch();
  } else if ((store.name === 'redis' || store.name === 'postgres') && secrets === undefined) {
    throw errors.sessionSecretsRequired(`The ${store.name} store (session.store)`);
  }
  return store;
}

function transportFrom(url: string): Transport {
  const kind = transportKind(url);
  if (kind === 'redis') return redisTransport({ url });
  if (kind === 'nats') return natsTransport({ servers: url });
  return clusterTransport();
}
