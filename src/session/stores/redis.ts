/**
 * The Redis session store, on node-redis (the `redis` package, v5). One hash per session, one
 * field per key, every operation one Lua script (one round trip), Redis TTLs for cleanup.
 *
 * Layout, for a prefix `P` and a session id `I`:
 *
 * - `P I` (hash): `k:<key>` → the key's JSON text; `m:c` created, `m:s` last seen (ms, from the
 *   store's clock), `m:b` bytes held (as `entryBytes` counts them). User keys and metadata cannot
 *   clash: every user key is behind `k:`. PEXPIRE'd at the session's deadline, the earlier of
 *   `seen + idleTimeoutMs` and `created + absoluteTimeoutMs`, so Redis removes idle sessions itself.
 * - `P gone:I` (string): the id's tombstone. It is written with the session and its TTL runs
 *   `absoluteTimeoutMs` past the hash's, so when Redis expires the hash on its own the id is still
 *   known to be dead. An id whose hash is missing while this key exists is gone: writes to it throw
 *   `NOVA_ERR_SESSION_GONE`. Logout and rotation delete the hash and keep this key for
 *   `absoluteTimeoutMs`.
 *
 * Expiry is also checked from the stored timestamps inside each script, so a session is dead at
 * its deadline even if Redis has not yet expired the key.
 *
 * Limits: `maxSessions` is not enforced (Redis has no cheap count of live sessions; cap memory
 * with Redis's own `maxmemory` and a `volatile-*` eviction policy instead). Rotation touches two
 * ids in one script, so the store needs a single Redis node (or Sentinel), not Redis Cluster.
 */
import { errors } from '../../errors.js';
import type { Json } from '../../results/result.js';
import {
  checkStoreOptions,
  encodeSessionValue,
  entryBytes,
  storeUnavailable,
  type SessionStore,
  type SessionStoreOptions,
} from '../store.js';
import { StartOnce } from '../../pubsub/start-once.js';
import type { RedisClientType } from 'redis';

/** The node-redis client methods the store uses; any `RedisClientType` has them. */
type Client = RedisClientType<any, any, any, any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Options of `redisStore`. */
export interface RedisStoreOptions {
  /** Default: `process.env.REDIS_URL`, else `redis://127.0.0.1:6379`. Ignored when `client` is given. */
  url?: string;
  /** Prefix of every key the store writes. Default `nova:sess:`. */
  prefix?: string;
  /** Bring your own client. The store connects it if needed and never closes it. */
  client?: RedisClientType<any, any, any, any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** How long `start()` waits for Redis before failing. Default 3000 ms. */
  connectTimeoutMs?: number;
  /** How long one operation waits for an answer before failing with 503. Default 2000 ms. */
  commandTimeoutMs?: number;
}

/** The Redis store. */
export interface RedisSessionStore extends SessionStore {
  start(options?: Partial<SessionStoreOptions>): Promise<void>;
  /** Closes the client the store created (not one that was passed in). */
  stop(): Promise<void>;
}

// Shared Lua. KEYS[1] hash, KEYS[2] tombstone; ARGV[1] now, ARGV[2] idle, ARGV[3] absolute,
// ARGV[4] touch interval. `kill` ends a session; `touch` rewrites "last seen" when it is due and
// moves both TTLs with it; `expired` checks the stored timestamps.
const LUA_HEAD = `
local now, idle, abs, touchEvery = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local function kill(h, g)
  redis.call('DEL', h)
  redis.call('SET', g, '1', 'PX', abs)
end
local function expired(c, s)
  return now >= c + abs or now >= s + idle
end
local function arm(h, g, c, s)
  local left = math.min(s + idle, c + abs) - now
  if left < 1 then left = 1 end
  redis.call('PEXPIRE', h, left)
  redis.call('SET', g, '1', 'PX', left + abs)
end
local function touch(h, g, c, s)
  if now - s < touchEvery then return end
  redis.call('HSET', h, 'm:s', ARGV[1])
  arm(h, g, c, now)
end
`;

// ARGV[5] field. Returns the JSON text or nil.
const GET = `${LUA_HEAD}
local m = redis.call('HMGET', KEYS[1], 'm:c', 'm:s', ARGV[5])
if not m[1] then return false end
local c, s = tonumber(m[1]), tonumber(m[2])
if expired(c, s) then kill(KEYS[1], KEYS[2]) return false end
touch(KEYS[1], KEYS[2], c, s)
return m[3]
`;

// ARGV[5] field, ARGV[6] text, ARGV[7] limit. Returns {0} done, {1} gone, {2, bytes} too large.
const SET = `${LUA_HEAD}
local field, text, limit = ARGV[5], ARGV[6], tonumber(ARGV[7])
local added = #field - 2 + #text
local m = redis.call('HMGET', KEYS[1], 'm:c', 'm:s', 'm:b', field)
if not m[1] then
  if redis.call('EXISTS', KEYS[2]) == 1 then return {1} end
  if added > limit then return {2, added} end
  redis.call('HSET', KEYS[1], 'm:c', ARGV[1], 'm:s', ARGV[1], 'm:b', added, field, text)
  arm(KEYS[1], KEYS[2], now, now)
  return {0}
end
local c, s = tonumber(m[1]), tonumber(m[2])
if expired(c, s) then kill(KEYS[1], KEYS[2]) return {1} end
local bytes = tonumber(m[3]) + added
if m[4] then bytes = bytes - (#field - 2 + #m[4]) end
if bytes > limit then return {2, bytes} end
redis.call('HSET', KEYS[1], field, text, 'm:b', bytes)
touch(KEYS[1], KEYS[2], c, s)
return {0}
`;

// ARGV[5] field, or '' for the whole session (fields always start with 'k:'). Returns 0.
const DELETE = `${LUA_HEAD}
local m = redis.call('HMGET', KEYS[1], 'm:c', 'm:s')
if not m[1] then return 0 end
local c, s = tonumber(m[1]), tonumber(m[2])
if ARGV[5] == '' or expired(c, s) then kill(KEYS[1], KEYS[2]) return 0 end
local old = redis.call('HGET', KEYS[1], ARGV[5])
if old then
  redis.call('HDEL', KEYS[1], ARGV[5])
  redis.call('HINCRBY', KEYS[1], 'm:b', -(#ARGV[5] - 2 + #old))
end
touch(KEYS[1], KEYS[2], c, s)
return 0
`;

// KEYS[3] new hash, KEYS[4] new tombstone. Returns 0 done or nothing to do, 1 gone, 3 new id in use.
const ROTATE = `${LUA_HEAD}
if redis.call('EXISTS', KEYS[3]) == 1 or redis.call('EXISTS', KEYS[4]) == 1 then return 3 end
local m = redis.call('HMGET', KEYS[1], 'm:c', 'm:s')
if not m[1] then
  if redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
  return 0
end
local c, s = tonumber(m[1]), tonumber(m[2])
if expired(c, s) then kill(KEYS[1], KEYS[2]) return 1 end
redis.call('RENAME', KEYS[1], KEYS[3])
redis.call('SET', KEYS[2], '1', 'PX', abs)
if now - s >= touchEvery then
  redis.call('HSET', KEYS[3], 'm:s', ARGV[1])
  s = now
end
arm(KEYS[3], KEYS[4], c, s)
return 0
`;

interface Script {
  source: string;
  sha: string;
}

function script(source: string, sha1: (text: string) => string): Script {
  return { source, sha: sha1(source) };
}

/** The URL with any password replaced, for messages and logs. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return 'the configured Redis URL (unparseable)';
  }
}

function checkId(id: string, what = 'a session id'): void {
  if (typeof id !== 'string' || id.length === 0) throw errors.sessionIdInvalid(`${what} must be a non-empty string`);
}

class RedisStore implements RedisSessionStore {
  readonly name = 'redis';
  private options: SessionStoreOptions = checkStoreOptions();
  private now: () => number = Date.now;
  private client: Client | undefined;
  private readonly life = new StartOnce();
  private scripts: { get: Script; set: Script; del: Script; rotate: Script } | undefined;
  private readonly url: string;
  private readonly prefix: string;
  private readonly connectTimeoutMs: number;
  private readonly commandTimeoutMs: number;

  constructor(private readonly given: RedisStoreOptions) {
    this.url = given.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    this.prefix = given.prefix ?? 'nova:sess:';
    this.connectTimeoutMs = given.connectTimeoutMs ?? 3000;
    this.commandTimeoutMs = given.commandTimeoutMs ?? 2000;
  }

  async start(options: Partial<SessionStoreOptions> = {}): Promise<void> {
    const checked = checkStoreOptions(options);
    this.options = checked;
    this.now = checked.now ?? Date.now;
    await this.life.start(() => this.connect()); // started again after stop(): reconnects
  }

  async stop(): Promise<void> {
    await this.life.stop();
    const client = this.client;
    this.client = undefined;
    if (client !== undefined && this.given.client === undefined) {
      try {
        await client.close();
      } catch {
        destroyQuietly(client);
      }
    }
  }

  async getValue(id: string, key: string): Promise<Json | undefined> {
    await this.ready();
    if (typeof id !== 'string' || id.length === 0) return undefined;
    const text = await this.run<string | null>('get', id, [`k:${key}`]);
    return text === null || text === undefined ? undefined : (JSON.parse(text) as Json);
  }

  async setValue(id: string, key: string, value: Json): Promise<void> {
    await this.ready();
    checkId(id);
    const text = encodeSessionValue(key, value);
    const limit = this.options.maxSessionBytes;
    const added = entryBytes(key, text);
    if (added > limit) {
      // Too large on its own, so the text is not sent. The script is still asked, with a limit of
      // -1 that refuses any write, so that a dead id answers "gone" first, as in the memory store.
      const reply = await this.run<number[]>('set', id, [`k:${key}`, '', '-1']);
      if (reply[0] === 1) throw errors.sessionGone();
      throw errors.sessionTooLarge(added, limit);
    }
    const reply = await this.run<number[]>('set', id, [`k:${key}`, text, String(limit)]);
    if (reply[0] === 1) throw errors.sessionGone();
    if (reply[0] === 2) throw errors.sessionTooLarge(Number(reply[1]), limit);
  }

  async deleteValue(id: string, key?: string): Promise<void> {
    await this.ready();
    if (typeof id !== 'string' || id.length === 0) return;
    await this.run<number>('del', id, [key === undefined ? '' : `k:${key}`]);
  }

  async rotate(oldId: string, newId: string): Promise<void> {
    await this.ready();
    checkId(newId, 'the new session id');
    if (typeof oldId !== 'string' || oldId.length === 0) return;
    const reply = await this.run<number>('rotate', oldId, [], [this.prefix + newId, `${this.prefix}gone:${newId}`]);
    if (reply === 1) throw errors.sessionGone();
    if (reply === 3) throw errors.sessionIdInvalid('the new id is already in use');
  }

  private async ready(): Promise<void> {
    if (this.life.state === 'running') return;
    if (this.life.state === 'stopped') throw storeUnavailable('the redis store was stopped');
    await this.start(this.options);
  }

  private async connect(): Promise<void> {
    let redis: typeof import('redis');
    const { createHash } = await import('node:crypto');
    try {
      redis = await import('redis');
    } catch (err) {
      throw storeUnavailable('the redis package is not installed (npm install redis)', err);
    }
    const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
    this.scripts = { get: script(GET, sha1), set: script(SET, sha1), del: script(DELETE, sha1), rotate: script(ROTATE, sha1) };
    if (this.given.client !== undefined) {
      const client = this.given.client;
      if (!client.isOpen) {
        try {
          await withTimeout(client.connect(), this.connectTimeoutMs);
        } catch (err) {
          throw storeUnavailable('could not connect the redis client that was passed in', err);
        }
      }
      this.client = client;
      return;
    }
    const where = safeUrl(this.url);
    let connected = false;
    const client = redis.createClient({
      url: this.url,
      // Calls made while the connection is down fail at once (503) instead of queueing.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: this.connectTimeoutMs,
        // Start-up fails on the first error; afterwards reconnect for ever, backing off to 2 s.
        reconnectStrategy: (retries: number, cause: Error) => (connected ? Math.min(50 * 2 ** retries, 2000) : cause),
      },
    }) as unknown as Client;
    // Without a listener, node-redis's 'error' events would crash the process.
    client.on('error', () => {});
    try {
      await withTimeout(client.connect(), this.connectTimeoutMs + 500);
      connected = true;
    } catch (err) {
      destroyQuietly(client);
      const detail = err instanceof Error && err.message !== '' ? ` (${err.message})` : '';
      throw storeUnavailable(`could not connect to redis at ${where}${detail}`, err);
    }
    this.client = client;
  }

  /** Run one of the scripts for `id`, with the clock and timeouts as the first arguments. */
  private async run<T>(name: 'get' | 'set' | 'del' | 'rotate', id: string, args: string[], extraKeys: string[] = []): Promise<T> {
    const client = this.client;
    const s = this.scripts?.[name];
    if (client === undefined || s === undefined) throw storeUnavailable('the redis store is not started');
    const { idleTimeoutMs, absoluteTimeoutMs, touchIntervalMs } = this.options;
    const keys = [this.prefix + id, `${this.prefix}gone:${id}`, ...extraKeys];
    const argv = [String(Math.floor(this.now())), String(idleTimeoutMs), String(absoluteTimeoutMs), String(touchIntervalMs), ...args];
    const tail = [String(keys.length), ...keys, ...argv];
    // node-redis's own abortSignal/timeout options cannot cancel a command already written to the
    // socket, so the wait is bounded here; a late reply is then read and dropped by the client.
    const send = async (): Promise<T> => {
      try {
        return (await client.sendCommand(['EVALSHA', s.sha, ...tail])) as T;
      } catch (err) {
        if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err;
        return (await client.sendCommand(['EVAL', s.source, ...tail])) as T;
      }
    };
    try {
      return await withTimeout(send(), this.commandTimeoutMs);
    } catch (err) {
      throw storeUnavailable(reasonFor(err), err);
    }
  }
}

/** Drop a client whatever its state (destroying a closed client throws). */
function destroyQuietly(client: Client): void {
  try {
    if (client.isOpen) client.destroy();
  } catch {
    // already closed
  }
}

function reasonFor(err: unknown): string {
  const name = err instanceof Error ? err.constructor.name : '';
  if (err instanceof TimedOut) return 'redis did not answer in time';
  if (name === 'ClientOfflineError' || name === 'ClientClosedError') return 'not connected to redis';
  if (err instanceof Error && /^[A-Z]+ /.test(err.message)) return 'redis refused the command';
  return 'redis did not answer';
}

class TimedOut extends Error {}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
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

/**
 * The Redis session store: one hash per session, per-key fields, one Lua script (one round trip)
 * per operation, idle and absolute expiry from stored timestamps and Redis TTLs, atomic rotation
 * and tombstones. `redis` is loaded only when the store starts. `maxSessions` is not enforced.
 *
 * @example
 * ```ts
 * const store = redisStore({ url: 'redis://127.0.0.1:6379', prefix: 'myapp:sess:' });
 * await store.start({ idleTimeoutMs: 1_800_000, absoluteTimeoutMs: 28_800_000,
 *   touchIntervalMs: 60_000, maxSessionBytes: 65_536, maxSessions: 100_000 });
 * await store.setValue(generateSessionId(), 'username', 'alice');
 * await store.stop();
 * ```
 */
export function redisStore(options: RedisStoreOptions = {}): RedisSessionStore {
  if (options.prefix !== undefined && typeof options.prefix !== 'string') {
    throw errors.config('redisStore.prefix', 'must be a string');
  }
  for (const name of ['connectTimeoutMs', 'commandTimeoutMs'] as const) {
    const v = options[name];
    if (v !== undefined && !(typeof v === 'number' && v > 0)) throw errors.config(`redisStore.${name}`, 'must be a positive number');
  }
  return new RedisStore(options);
}
