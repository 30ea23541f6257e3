/**
 * Connecting the Redis session store and bounding its waits: the parts of the store that are about
 * the client, not about sessions.
 */
import { loadOptional } from '../../optional-package.js';
import { storeUnavailable } from '../store.js';
import type { RedisClientType } from 'redis';

/** The node-redis client methods the store uses; any `RedisClientType` has them. */
// biome-ignore lint/suspicious/noExplicitAny: any client, whatever modules, scripts and protocol it was created with
export type Client = RedisClientType<any, any, any, any, any>;

/** The URL with any password replaced, for messages and logs. */
export function safeUrl(url: string): string {
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
        await withTimeout(given.connect(), connectTimeoutMs);
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

/** Drop a client whatever its state (destroying a closed client throws). */
export function destroyQuietly(client: Client): void {
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
