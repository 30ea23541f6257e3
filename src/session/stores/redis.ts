/**
 * The Redis session store, on node-redis (the `redis` package, v5). One hash per session, one
 * field per key, every operation one Lua script (one round trip, `redis-scripts.ts`), Redis TTLs
 * for cleanup. Sessions are keyed by `hashSessionId(id)`: no key, value or command the store
 * sends holds the raw id, so a dump or a `MONITOR` log yields no working cookie.
 *
 * Layout, for a prefix `P`, a session's hashed id `H` and a user's tag `U` (SHA-256 of the user
 * id, base64url). The `{…}` hash tags put all keys of one session in one Redis Cluster slot, and
 * all keys of one user in another:
 *
 * - `P{H}` (hash): `k:<key>` → the key's JSON text; `m:c` created, `m:s` last seen (ms, from the
 *   store's clock), `m:b` bytes held (as `entryBytes` counts them); once bound to a user, `m:u`
 *   user id, `m:g` user tag U, `m:h` handle, `m:t` bound at, `m:a` user agent, `m:i` ip. User keys
 *   and metadata cannot clash: every user key is behind `k:`. PEXPIRE'd at the session's deadline,
 *   the earlier of `seen + idleTimeoutMs` and `created + absoluteTimeoutMs`.
 * - `P{H}:gone` (string): the tombstone, written with the session, its TTL `absoluteTimeoutMs`
 *   past the hash's. While the session lives it holds `l` + the user id; an id whose hash is
 *   missing while this key exists is gone (writes throw `NOVA_ERR_SESSION_GONE`), and finding it
 *   still marked live means Redis expired the session: `onExpired` is called then, once.
 * - `Pu:{U}:s` (sorted set): the user's handles, scored by the session's creation time.
 * - `Pu:{U}:h` (hash): handle → H.
 * - `Pu:{U}:r` (string): the revocation stamp (ms); TTL `absoluteTimeoutMs` + 1 min.
 *
 * The user's set and hash get a TTL of `absoluteTimeoutMs` + 1 min at every bind (every indexed
 * session ends before then), and dead entries are dropped whenever the index is walked (bind,
 * list, revoke), so nothing grows without bound. Listing costs O(that user's sessions).
 *
 * Expiry is also checked from the stored timestamps inside each script, so a session is dead at
 * its deadline even if Redis has not yet expired the key. Redis expires keys silently, so
 * `onExpired` fires only when a script finds the expiry: a read, write, take, rotation or bind of
 * that id, or a walk of its user's index. A session nobody asks about again is never reported.
 *
 * Limits: `maxSessions` is not enforced (Redis has no cheap count of live sessions; cap memory
 * with Redis's own `maxmemory` and a `volatile-*` eviction policy instead). Rotation, binding,
 * revocation and the stamp check touch keys of several slots in one script, so the store needs a
 * single Redis node (or Sentinel), not Redis Cluster (issue 14 splits those scripts; the layout
 * stays).
 */
import { createHash } from 'node:crypto';
import { errors } from '../../errors.js';
import type { Json } from '../../results/result.js';
import { hashSessionId } from '../id-hash.js';
import {
  checkStoreOptions,
  encodeSessionValue,
  entryBytes,
  storeUnavailable,
  type CheckedStoreOptions,
  type SessionStore,
  type SessionStoreOptions,
} from '../store.js';
import {
  checkUserId,
  MAX_USER_AGENT_LENGTH,
  newHandle,
  type SessionMeta,
  type SessionOwner,
  type SessionTake,
  type SessionUserIndex,
  type UserSessionInfo,
} from '../users.js';
import { StartOnce } from '../../pubsub/start-once.js';
import type { RedisClientLike } from './redis-client-like.js';
import { connectClient, destroyQuietly, reasonFor, withTimeout, type Client } from './redis-connection.js';
import { SCRIPTS, type ScriptName } from './redis-scripts.js';

/** Options of `redisStore`. */
export interface RedisStoreOptions {
  /** Default: `process.env.REDIS_URL`, else `redis://127.0.0.1:6379`. Ignored when `client` is given. */
  url?: string;
  /** Prefix of every key the store writes. Default `nova:sess:`. Must not hold `{` or `}`. */
  prefix?: string;
  /** Bring your own client. The store connects it if needed and never closes it. */
  client?: RedisClientLike;
  /** How long `start()` waits for Redis before failing. Default 3000 ms. */
  connectTimeoutMs?: number;
  /** How long one operation waits for an answer before failing with 503. Default 2000 ms. */
  commandTimeoutMs?: number;
}

/** The Redis store, with sessions per user and the atomic take. */
export interface RedisSessionStore extends Omit<SessionStore, keyof SessionUserIndex | keyof SessionTake>, SessionUserIndex, SessionTake {
  start(options?: Partial<SessionStoreOptions>): Promise<void>;
  /** Closes the client the store created (not one that was passed in). */
  stop(): Promise<void>;
}

/**
 * Added to the TTL of a user's keys beyond `absoluteTimeoutMs`: the scripts reckon with the app's
 * clock and Redis expires by its own, so a little slack keeps a stamp alive as long as it matters.
 */
const USER_KEY_MARGIN_MS = 60_000;

/** A user's tag in key names: user ids may hold any character, including `{` and `}`. */
function userTag(userId: string): string {
  return createHash('sha256').update(userId).digest('base64url');
}

function checkId(id: string, what = 'a session id'): void {
  if (typeof id !== 'string' || id.length === 0) throw errors.sessionIdInvalid(`${what} must be a non-empty string`);
}

const isId = (id: unknown): id is string => typeof id === 'string' && id.length > 0;
/** A bulk string from a script, or undefined for nil (false under RESP3, null under RESP2). */
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

class RedisStore implements RedisSessionStore {
  readonly name = 'redis';
  private options: CheckedStoreOptions = checkStoreOptions();
  private now: () => number = Date.now;
  private client: Client | undefined;
  private readonly life = new StartOnce();
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
    await this.life.start(async () => {
      this.client = await connectClient(this.given.client as Client | undefined, this.url, this.connectTimeoutMs);
    }); // started again after stop(): reconnects
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
    if (!isId(id)) return undefined;
    const [value] = await this.onSession('get', id, [`k:${key}`]);
    const json = text(value);
    return json === undefined ? undefined : (JSON.parse(json) as Json);
  }

  async setValue(id: string, key: string, value: Json): Promise<void> {
    await this.ready();
    checkId(id);
    const encoded = encodeSessionValue(key, value);
    const limit = this.options.maxSessionBytes;
    const added = entryBytes(key, encoded);
    if (added > limit) {
      // Too large on its own, so the text is not sent. The script is still asked, with a limit of
      // -1 that refuses any write, so that a dead id answers "gone" first, as in the memory store.
      const [code] = await this.onSession('set', id, [`k:${key}`, '', '-1']);
      if (Number(code) === 1) throw errors.sessionGone();
      throw errors.sessionTooLarge(added, limit);
    }
    const [code, bytes] = await this.onSession('set', id, [`k:${key}`, encoded, String(limit)]);
    if (Number(code) === 1) throw errors.sessionGone();
    if (Number(code) === 2) throw errors.sessionTooLarge(Number(bytes), limit);
  }

  async deleteValue(id: string, key?: string): Promise<void> {
    await this.ready();
    if (!isId(id)) return;
    await this.onSession('del', id, [key === undefined ? '' : `k:${key}`]);
  }

  async takeValue(id: string, key: string): Promise<Json | undefined> {
    await this.ready();
    if (!isId(id)) return undefined;
    const [value] = await this.onSession('take', id, [`k:${key}`]);
    const json = text(value);
    return json === undefined ? undefined : (JSON.parse(json) as Json);
  }

  async rotate(oldId: string, newId: string): Promise<void> {
    await this.ready();
    checkId(newId, 'the new session id');
    if (!isId(oldId)) return;
    const next = hashSessionId(newId);
    const [code] = await this.onSession('rotate', oldId, [next], this.sessionKeys(next));
    if (Number(code) === 1) throw errors.sessionGone();
    if (Number(code) === 3) throw errors.sessionIdInvalid('the new id is already in use');
  }

  async bindUser(id: string, userId: string, meta: SessionMeta): Promise<string> {
    await this.ready();
    checkId(id);
    checkUserId(userId);
    const handle = newHandle();
    const tag = userTag(userId);
    const userAgent = (meta?.userAgent ?? '').slice(0, MAX_USER_AGENT_LENGTH);
    const args = [tag, userId, handle, userAgent, meta?.ip ?? '', String(this.options.maxSessionsPerUser)];
    const [code] = await this.onSession('bind', id, args, this.userKeys(tag));
    if (Number(code) === 1) throw errors.sessionGone();
    return handle;
  }

  async userOf(id: string): Promise<SessionOwner | undefined> {
    await this.ready();
    if (!isId(id)) return undefined;
    const [userId, handle] = (await this.onSession('userOf', id, [])).map(text);
    return userId === undefined || handle === undefined ? undefined : { userId, handle };
  }

  async listUserSessions(userId: string): Promise<UserSessionInfo[]> {
    await this.ready();
    checkUserId(userId);
    const [rows] = await this.onUser('list', userId, []);
    return (rows as unknown[][]).map(([handle, created, seen, userAgent, ip]) => ({
      handle: String(handle),
      createdAt: Number(created),
      lastSeenAt: Number(seen),
      userAgent: text(userAgent) || undefined,
      ip: text(ip) || undefined,
    }));
  }

  async revokeUserSession(userId: string, handle: string): Promise<boolean> {
    await this.ready();
    checkUserId(userId);
    if (typeof handle !== 'string' || handle === '') return false;
    const [ended] = await this.onUser('revoke', userId, [handle]);
    return Number(ended) === 1;
  }

  async revokeUserSessions(userId: string, exceptHandle?: string): Promise<number> {
    await this.ready();
    checkUserId(userId);
    const [ended] = await this.onUser('revokeAll', userId, [typeof exceptHandle === 'string' ? exceptHandle : '']);
    return Number(ended);
  }

  private sessionKeys(hash: string): string[] {
    return [`${this.prefix}{${hash}}`, `${this.prefix}{${hash}}:gone`];
  }

  private userKeys(tag: string): string[] {
    return ['s', 'h', 'r'].map((part) => `${this.prefix}u:{${tag}}:${part}`);
  }

  /** Run a script on session `id`, which Redis only ever sees hashed. */
  private onSession(name: ScriptName, id: string, args: string[], extraKeys: string[] = []): Promise<unknown[]> {
    const hash = hashSessionId(id);
    return this.run(name, [...this.sessionKeys(hash), ...extraKeys], [hash, ...args]);
  }

  private onUser(name: ScriptName, userId: string, args: string[]): Promise<unknown[]> {
    const tag = userTag(userId);
    return this.run(name, this.userKeys(tag), [tag, ...args]);
  }

  private async ready(): Promise<void> {
    if (this.life.state === 'running') return;
    if (this.life.state === 'stopped') throw storeUnavailable('the redis store was stopped');
    await this.start(this.options);
  }

  /**
   * Run a script with the clock, timeouts and prefix as its first arguments; answers what follows
   * the script's list of expired sessions, which go to `onExpired`.
   */
  private async run(name: ScriptName, keys: string[], args: string[]): Promise<unknown[]> {
    const client = this.client;
    if (client === undefined) throw storeUnavailable('the redis store is not started');
    const s = SCRIPTS[name];
    const { idleTimeoutMs, absoluteTimeoutMs, touchIntervalMs } = this.options;
    const argv = [
      String(Math.floor(this.now())),
      String(idleTimeoutMs),
      String(absoluteTimeoutMs),
      String(touchIntervalMs),
      this.prefix,
      String(USER_KEY_MARGIN_MS),
      ...args,
    ];
    const tail = [String(keys.length), ...keys, ...argv];
    // node-redis's own abortSignal/timeout options cannot cancel a command already written to the
    // socket, so the wait is bounded here; a late reply is then read and dropped by the client.
    const send = async (): Promise<unknown> => {
      try {
        return await client.sendCommand(['EVALSHA', s.sha, ...tail]);
      } catch (err) {
        if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err;
        return await client.sendCommand(['EVAL', s.source, ...tail]);
      }
    };
    let reply: unknown[];
    try {
      reply = (await withTimeout(send(), this.commandTimeoutMs)) as unknown[];
    } catch (err) {
      throw storeUnavailable(reasonFor(err), err);
    }
    const [expired, ...rest] = reply;
    if (Array.isArray(expired) && expired.length > 0) this.reportExpired(expired);
    return rest;
  }

  private reportExpired(pairs: unknown[]): void {
    const hook = this.options.onExpired;
    if (hook === undefined) return;
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const userId = String(pairs[i + 1]);
      try {
        hook(String(pairs[i]), userId === '' ? undefined : userId);
      } catch {
        // A hook that throws must not fail the operation that found the expiry.
      }
    }
  }
}

/**
 * The Redis session store: one hash per session keyed by the hashed id, per-key fields, one Lua
 * script (one round trip) per operation, idle and absolute expiry from stored timestamps and Redis
 * TTLs, atomic rotation and tombstones, sessions per user (index, revocation stamp, cap) and the
 * atomic take. `redis` is loaded only when the store starts. `maxSessions` and `maxStoreBytes` are not enforced (the sessions are in Redis, not in this process).
 * Sessions written by versions that keyed by the raw id are simply not found.
 *
 * @example
 * ```ts
 * const store = redisStore({ url: 'redis://127.0.0.1:6379', prefix: 'myapp:sess:' });
 * await store.start({ idleTimeoutMs: 1_800_000, absoluteTimeoutMs: 28_800_000,
 *   touchIntervalMs: 60_000, maxSessionBytes: 65_536, maxSessions: 100_000 });
 * const id = generateSessionId();
 * await store.setValue(id, 'username', 'alice');
 * const handle = await store.bindUser(id, 'alice', { userAgent: 'Firefox/140' });
 * await store.revokeUserSessions('alice', handle); // log out everywhere else
 * await store.stop();
 * ```
 */
export function redisStore(options: RedisStoreOptions = {}): RedisSessionStore {
  if (options.prefix !== undefined && typeof options.prefix !== 'string') {
    throw errors.config('redisStore.prefix', 'must be a string');
  }
  if (options.prefix !== undefined && /[{}]/.test(options.prefix)) {
    // A brace would become (or break) the Redis Cluster hash tag and scatter a session's keys.
    throw errors.config('redisStore.prefix', 'must not contain "{" or "}" (they choose the Redis Cluster slot)');
  }
  for (const name of ['connectTimeoutMs', 'commandTimeoutMs'] as const) {
    const v = options[name];
    if (v !== undefined && !(typeof v === 'number' && v > 0)) throw errors.config(`redisStore.${name}`, 'must be a positive number');
  }
  return new RedisStore(options);
}
