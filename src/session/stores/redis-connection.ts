/**
 * Connecting the Redis session store and bounding its waits: the parts of the store that are about
 * the client, not about sessions.
 */
import { loadOptional } from '../../optional-package.js';
import { storeUnavailable } from '../store.js';
import type { RedisClientType, RedisClusterType } from 'redis';

/** The node-redis client methods the store uses; any `RedisClientType` has them. */
// biome-ignore lint/suspicious/noExplicitAny: any client, whatever modules, scripts and protocol it was created with
export type Client = RedisClientType<any, any, any, any, any>;

// biome-ignore lint/suspicious/noExplicitAny: any cluster client, whatever modules, scripts and protocol it was created with
export type Cluster = RedisClusterType<any, any, any, any, any>;

/**
 * What the store sends commands through: one client, or a cluster client that routes each
 * command to the master owning `key`'s slot.
 */
export interface Conn {
  readonly cluster: boolean;
  send(key: string | undefined, args: string[]): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
}

/** A `Conn` over a single client or a cluster client. */
export function connOf(client: Client | Cluster): Conn {
  if (isCluster(client)) {
    return {
      cluster: true,
      send: async (key, args) => {
        try {
          return await client.sendCommand(key, false, args);
        } catch (err) {
          // node-redis re-reads the slot map on MOVED/ASK only; a master that died leaves its
          // slots pointing at a closed socket, so a connection failure asks for a new map too
          // (the replica promoted in its place takes over once the cluster has failed over).
          if (!(err instanceof Error && /^[A-Z]+ /.test(err.message)) || err.message.startsWith('CLUSTERDOWN')) rediscover(client);
          throw err;
        }
      },
      close: () => client.close(),
      destroy: () => destroyQuietly(client),
    };
  }
  return {
    cluster: false,
    send: (_key, args) => client.sendCommand(args),
    close: () => client.close(),
    destroy: () => destroyQuietly(client),
  };
}

function rediscover(cluster: Cluster): void {
  const start = cluster.masters.find((m) => m.client !== undefined)?.client;
  if (start === undefined) return;
  // biome-ignore lint/suspicious/noExplicitAny: the slot map's node client type differs from ours only in generics
  cluster._slots.rediscover(start as any).catch(() => {});
}

/** A cluster client has masters; a single client does not. */
export function isCluster(client: unknown): client is Cluster {
  return typeof client === 'object' && client !== null && 'masters' in client;
}

/**
 * The seed nodes of a `redis+cluster://[user:password@]host:port,host:port,…` URL (any one node is
 * enough: the client discovers the rest), or undefined for any other URL.
 *
 * @example
 * ```ts
 * clusterNodes('redis+cluster://10.0.0.1:7000,10.0.0.2:7000'); // { nodes: ['redis://10.0.0.1:7000', …] }
 * ```
 */
export function clusterNodes(url: string): { nodes: string[]; username?: string; password?: string; tls: boolean } | undefined {
  const m = /^(redis|rediss)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]+)/.exec(url);
  if (m === null) return undefined;
  const tls = m[1] === 'rediss';
  const auth = m[2];
  let username: string | undefined;
  let password: string | undefined;
  if (auth !== undefined) {
    const colon = auth.indexOf(':');
    username = decodeURIComponent(colon < 0 ? auth : auth.slice(0, colon)) || undefined;
    password = colon < 0 ? undefined : decodeURIComponent(auth.slice(colon + 1));
  }
  const nodes = (m[3] ?? '')
    .split(',')
    .filter((h) => h !== '')
    .map((h) => `${tls ? 'rediss' : 'redis'}://${h}`);
  return { nodes, username, password, tls };
}

/** The URL with any password replaced, for messages and logs. */
export function safeUrl(url: string): string {
  const cluster = /^(rediss?\+cluster:\/\/)(?:([^@/:]*)(:[^@/]*)?@)?(.*)$/.exec(url);
  if (cluster !== null) {
    const [, scheme, user, password, hosts] = cluster;
    const auth = user === undefined ? '' : `${user}${password === undefined ? '' : ':***'}@`;
    return `${scheme}${auth}${hosts}`;
  }
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return 'the configured Redis URL (unparseable)';
  }
}

/**
 * A connected client: `given` connected if needed, else a new one for `url` that fails on the
 * first error while starting and reconnects for ever once it has been up.
 *
 * @example
 * ```ts
 * const client = await connectClient(undefined, 'redis://127.0.0.1:6379', 3000);
 * ```
 */
export async function connectClient(given: Client | undefined, url: string, connectTimeoutMs: number): Promise<Client> {
  const redis = await loadOptional<typeof import('redis')>('redis', 'the Redis store');
  if (given !== undefined) {
    if (!given.isOpen) {
      try {
        await withTimeout(given.connect() as Promise<unknown>, connectTimeoutMs);
      } catch (err) {
        throw storeUnavailable('could not connect the redis client that was passed in', err);
      }
    }
    return given;
  }
  let connected = false;
  const client = redis.createClient({
    url,
    // Calls made while the connection is down fail at once (503) instead of queueing.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: connectTimeoutMs,
      // Start-up fails on the first error; afterwards reconnect for ever, backing off to 2 s.
      reconnectStrategy: (retries: number, cause: Error) => (connected ? Math.min(50 * 2 ** retries, 2000) : cause),
    },
  }) as unknown as Client;
  // Without a listener, node-redis's 'error' events would crash the process.
  client.on('error', () => {});
  try {
    await withTimeout(client.connect(), connectTimeoutMs + 500);
    connected = true;
  } catch (err) {
    destroyQuietly(client);
    const detail = err instanceof Error && err.message !== '' ? ` (${err.message})` : '';
    throw storeUnavailable(`could not connect to redis at ${safeUrl(url)}${detail}`, err);
  }
  return client;
}

/**
 * Like `connectClient`, for a client, a cluster client, or a URL that may name a cluster
 * (`redis+cluster://…`): the connection the session store sends through.
 *
 * @example
 * ```ts
 * const conn = await connectConn(undefined, 'redis+cluster://127.0.0.1:7000', 3000);
 * ```
 */
export async function connectConn(given: Client | Cluster | undefined, url: string, connectTimeoutMs: number): Promise<Conn> {
  if (given !== undefined && isCluster(given)) {
    if (!given.isOpen) {
      try {
        await withTimeout(given.connect() as Promise<unknown>, connectTimeoutMs);
      } catch (err) {
        throw storeUnavailable('could not connect the redis cluster client that was passed in', err);
      }
    }
    return connOf(given);
  }
  const seeds = given === undefined ? clusterNodes(url) : undefined;
  if (seeds === undefined) return connOf(await connectClient(given, url, connectTimeoutMs));
  const redis = await loadOptional<typeof import('redis')>('redis', 'the Redis store');
  return await connectCluster(redis, url, seeds, connectTimeoutMs);
}

async function connectCluster(
  redis: typeof import('redis'),
  url: string,
  seeds: NonNullable<ReturnType<typeof clusterNodes>>,
  connectTimeoutMs: number,
): Promise<Conn> {
  let connected = false;
  const cluster = redis.createCluster({
    rootNodes: seeds.nodes.map((u) => ({ url: u })),
    defaults: {
      username: seeds.username,
      password: seeds.password,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: connectTimeoutMs,
        reconnectStrategy: (retries: number, cause: Error) => (connected ? Math.min(50 * 2 ** retries, 2000) : cause),
      },
    },
  }) as unknown as Cluster;
  cluster.on('error', () => {});
  try {
    await withTimeout(cluster.connect(), connectTimeoutMs + 500);
    connected = true;
  } catch (err) {
    destroyQuietly(cluster);
    const detail = err instanceof Error && err.message !== '' ? ` (${err.message})` : '';
    throw storeUnavailable(`could not connect to the redis cluster at ${safeUrl(url)}${detail}`, err);
  }
  return connOf(cluster);
}

/** Drop a client whatever its state (destroying a closed client throws). */
export function destroyQuietly(client: Client | Cluster): void {
  try {
    if (client.isOpen) client.destroy();
  } catch {
    // already closed
  }
}

/** What a failed command says to a client: no internals, only which kind of failure. */
export function reasonFor(err: unknown): string {
  const name = err instanceof Error ? err.constructor.name : '';
  if (err instanceof TimedOut) return 'redis did not answer in time';
  if (name === 'ClientOfflineError' || name === 'ClientClosedError') return 'not connected to redis';
  if (err instanceof Error && /^[A-Z]+ /.test(err.message)) return 'redis refused the command';
  return 'redis did not answer';
}

class TimedOut extends Error {}

/** `promise`, or a rejection once `ms` have passed without an answer. */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimedOut(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
