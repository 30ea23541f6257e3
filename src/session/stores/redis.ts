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
 * - `Pu:{U}:r` (string): the time of the last revoke-all (ms): a later bind is stamped no earlier
 *   (nodes' clocks differ); TTL `absoluteTimeoutMs` + 1 min. Revoking ends each indexed session.
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
 * Every script touches the keys of one hash slot only, so the same code runs on one Redis, Sentinel
 * or Redis Cluster (`redis+cluster://…` URLs, node-redis's cluster client). Operations that span a
 * session and its user, or two sessions, are a few single-slot steps (see `rotate` and `bindUser`);
 * `P{H}:gone` may then read `m` + N (moved to N by a rotation), and the hash may hold `m:m`/`m:w`
 * (being moved to N, since) and `m:p` (a bind pending for that handle). Kills wait for a replica
 * (`WAIT 1`) when the deployment has replicas, so a failover cannot revive a logged-out session.
 *
 * Limits: `maxSessions` is not enforced (Redis has no cheap count of live sessions; cap memory
 * with Redis's own `maxmemory` and a `volatile-*` eviction policy instead).
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
import { connectConn, reasonFor, withTimeout, type Client, type Cluster, type Conn } from './redis-connection.js';
import { SCRIPTS, type ScriptName } from './redis-scripts.js';

/** Options of `redisStore`. */
export interface RedisStoreOptions {
  /**
   * Default: `process.env.REDIS_URL`, else `redis://127.0.0.1:6379`. A Redis Cluster is named
   * `redis+cluster://[user:password@]host:port,host:port,…` (any one node is enough). Ignored when
   * `client` is given.
   */
  url?: string;
  /** Prefix of every key the store writes. Default `nova:sess:`. Must not hold `{` or `}`. */
  prefix?: string;
  /** Bring your own client (`createClient()` or `createCluster()`). The store connects it if needed and never closes it. */
  client?: RedisClientLike;
  /** How long `start()` waits for Redis before failing. Default 3000 ms. */
  connectTimeoutMs?: number;
  /** How long one operation waits for an answer before failing with 503. Default 2000 ms. */
  commandTimeoutMs?: number;
  /**
   * Acknowledge a logout or revocation only once a replica holds it (`WAIT 1`), so a failover
   * cannot revive the session. Default: on when the deployment has replicas when the store starts
   * (a cluster with replica nodes, or a Redis with connected replicas), off otherwise.
   */
  waitForReplicas?: boolean;
  /** How long a logout waits for a replica before failing with 503. Default 1000 ms. */
  replicaTimeoutMs?: number;
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

/** When a script's answer of 5 ("moved to N by a rotation") is followed to N. */
type Follow = 'never' | 'afterWait' | 'always';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class RedisStore implements RedisSessionStore {
  readonly name = 'redis';
  private options: CheckedStoreOptions = checkStoreOptions();
  private now: () => number = Date.now;
  private conn: Conn | undefined;
  private waitReplicas = false;
  private readonly life = new StartOnce();
  private readonly url: string;
  private readonly prefix: string;
  private readonly connectTimeoutMs: number;
  private readonly commandTimeoutMs: number;
  private readonly replicaTimeoutMs: number;

  constructor(private readonly given: RedisStoreOptions) {
    this.url = given.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    this.prefix = given.prefix ?? 'nova:sess:';
    this.connectTimeoutMs = given.connectTimeoutMs ?? 3000;
    this.commandTimeoutMs = given.commandTimeoutMs ?? 2000;
    this.replicaTimeoutMs = given.replicaTimeoutMs ?? 1000;
  }

  async start(options: Partial<SessionStoreOptions> = {}): Promise<void> {
    const checked = checkStoreOptions(options);
    this.options = checked;
    this.now = checked.now ?? Date.now;
    await this.life.start(async () => {
      const conn = await connectConn(this.given.client as Client | Cluster | undefined, this.url, this.connectTimeoutMs);
      this.conn = conn;
      this.waitReplicas = this.given.waitForReplicas ?? (await hasReplicas(conn, this.connectTimeoutMs));
    }); // started again after stop(): reconnects
  }

  async stop(): Promise<void> {
    await this.life.stop();
    const conn = this.conn;
    this.conn = undefined;
    if (conn !== undefined && this.given.client === undefined) {
      try {
        await conn.close();
      } catch {
        conn.destroy();
      }
    }
  }

  async getValue(id: string, key: string): Promise<Json | undefined> {
    await this.ready();
    if (!isId(id)) return undefined;
    const [value] = await this.runOn('get', hashSessionId(id), [`k:${key}`]);
    const json = text(value);
    return json === undefined ? undefined : (JSON.parse(json) as Json);
  }

  async setValue(id: string, key: string, value: Json): Promise<void> {
    await this.ready();
    checkId(id);
    const encoded = encodeSessionValue(key, value);
    const limit = this.options.maxSessionBytes;
    const added = entryBytes(key, encoded);
    const H = hashSessionId(id);
    if (added > limit) {
      // Too large on its own, so the text is not sent. The script is still asked, with a limit of
      // -1 that refuses any write, so that a dead id answers "gone" first, as in the memory store.
      const { reply } = await this.write('set', H, [`k:${key}`, '', '-1'], 'afterWait');
      if (Number(reply[0]) === 1) throw errors.sessionGone();
      throw errors.sessionTooLarge(added, limit);
    }
    const { reply } = await this.write('set', H, [`k:${key}`, encoded, String(limit)], 'afterWait');
    const code = Number(reply[0]);
    if (code === 1) throw errors.sessionGone();
    if (code === 2) throw errors.sessionTooLarge(Number(reply[1]), limit);
  }

  async deleteValue(id: string, key?: string): Promise<void> {
    await this.ready();
    if (!isId(id)) return;
    const H = hashSessionId(id);
    const { reply, hash } = await this.write('del', H, [key === undefined ? '' : `k:${key}`], 'afterWait');
    if (key !== undefined || Number(reply[0]) !== 0 || reply.length < 3) return;
    // The session was ended here: drop it from its user's index and make the end durable.
    const [tag, handle] = [text(reply[1]) ?? '', text(reply[2]) ?? ''];
    await Promise.all([tag === '' ? undefined : this.runUser('prune', tag, [handle, hash]), this.replicate(hash)]);
  }

  async takeValue(id: string, key: string): Promise<Json | undefined> {
    await this.ready();
    if (!isId(id)) return undefined;
    const { reply } = await this.write('take', hashSessionId(id), [`k:${key}`], 'afterWait');
    const json = Number(reply[0]) === 0 ? text(reply[1]) : undefined;
    return json === undefined ? undefined : (JSON.parse(json) as Json);
  }

  /**
   * Rotation in three single-slot steps, so the old and new ids may live on different nodes:
   * 1. mark the old session "moving to N" and copy it (writes to the old id now wait);
   * 2. create N from the copy (refused when N is in use);
   * 3. end the old id as a tombstone "moved to N" (the waiting writes then follow to N).
   * A write that waited in 1–3 lands on N; a write arriving after 3 finds the old id dead.
   */
  async rotate(oldId: string, newId: string): Promise<void> {
    await this.ready();
    checkId(newId, 'the new session id');
    if (!isId(oldId)) return;
    const [H, N] = [hashSessionId(oldId), hashSessionId(newId)];
    const { reply: out } = await this.write('rotateOut', H, [N], 'never');
    const code = Number(out[0]);
    if (code === 0) return;
    if (code !== 6) throw errors.sessionGone();
    const fields: string[] = [];
    for (let i = 1; i + 1 < out.length; i += 2) {
      const f = String(out[i]);
      if (f !== 'm:m' && f !== 'm:w') fields.push(f, String(out[i + 1]));
    }
    let made: unknown[];
    try {
      made = await this.runOn('rotateIn', N, fields);
    } catch (err) {
      await this.runOn('rotateUndo', H, [N, 'out']).catch(() => {});
      throw err;
    }
    if (Number(made[0]) === 3) {
      await this.runOn('rotateUndo', H, [N, 'out']).catch(() => {});
      throw errors.sessionIdInvalid('the new id is already in use');
    }
    const sealed = await this.runOn('rotateSeal', H, [N]);
    if (Number(sealed[0]) !== 0) {
      // The mark was lost (the session expired meanwhile): the copy was never handed out.
      await this.runOn('rotateUndo', N, [N, 'in']).catch(() => {});
      throw errors.sessionGone();
    }
    const [tag, handle] = [text(sealed[1]) ?? '', text(sealed[2]) ?? ''];
    if (tag !== '') await this.runUser('prune', tag, ['=', handle, H, N]);
  }

  /**
   * Binding in three steps: mark the handle pending on the session (a revoke of it from then on
   * ends the session), index it under the user and enforce the cap, then record the binding.
   */
  async bindUser(id: string, userId: string, meta: SessionMeta): Promise<string> {
    await this.ready();
    checkId(id);
    checkUserId(userId);
    const handle = newHandle();
    const tag = userTag(userId);
    const userAgent = (meta?.userAgent ?? '').slice(0, MAX_USER_AGENT_LENGTH);
    const H = hashSessionId(id);
    const { reply: prep, hash } = await this.write('bindPrep', H, [handle], 'afterWait');
    if (Number(prep[0]) !== 0) throw errors.sessionGone();
    const [stamp, list] = await this.runUser('bindUser', tag, [handle, hash, String(prep[1])]);
    const others = pairsOf(list).filter(([hd]) => hd !== handle);
    const live = await this.liveSessions(tag, others);
    const excess = live.length + 1 - this.options.maxSessionsPerUser;
    if (excess > 0) await Promise.all(live.slice(0, excess).map((s) => this.killHandle(tag, s.handle, s.hash)));
    const args = [tag, userId, handle, userAgent, meta?.ip ?? '', text(stamp) ?? ''];
    const { reply } = await this.write('bindFinish', hash, args, 'always');
    if (Number(reply[0]) !== 0) throw errors.sessionGone();
    return handle;
  }

  async userOf(id: string): Promise<SessionOwner | undefined> {
    await this.ready();
    if (!isId(id)) return undefined;
    const [userId, handle] = (await this.runOn('userOf', hashSessionId(id), [])).map(text);
    return userId === undefined || handle === undefined ? undefined : { userId, handle };
  }

  async listUserSessions(userId: string): Promise<UserSessionInfo[]> {
    await this.ready();
    checkUserId(userId);
    const tag = userTag(userId);
    const [list] = await this.runUser('entries', tag, []);
    const live = await this.liveSessions(tag, pairsOf(list));
    return live.map((s) => ({
      handle: s.handle,
      createdAt: s.createdAt,
      lastSeenAt: s.lastSeenAt,
      userAgent: s.userAgent || undefined,
      ip: s.ip || undefined,
    }));
  }

  async revokeUserSession(userId: string, handle: string): Promise<boolean> {
    await this.ready();
    checkUserId(userId);
    if (typeof handle !== 'string' || handle === '') return false;
    const tag = userTag(userId);
    const [list] = await this.runUser('entries', tag, []);
    const entry = pairsOf(list).find(([hd]) => hd === handle);
    if (entry === undefined) return false;
    const ended = await this.killHandle(tag, handle, entry[1]);
    await this.runUser('prune', tag, entry);
    return ended;
  }

  async revokeUserSessions(userId: string, exceptHandle?: string): Promise<number> {
    await this.ready();
    checkUserId(userId);
    const tag = userTag(userId);
    const except = typeof exceptHandle === 'string' ? exceptHandle : '';
    const [list] = await this.runUser('revokeAll', tag, []);
    const targets = pairsOf(list).filter(([hd]) => hd !== except);
    const ended = await Promise.all(targets.map(([hd, H]) => this.killHandle(tag, hd, H)));
    if (targets.length > 0) await this.runUser('prune', tag, targets.flat());
    return ended.filter(Boolean).length;
  }

  /** The live sessions among a user's index entries, oldest first; dead entries are dropped from the index. */
  private async liveSessions(tag: string, entries: [string, string][]): Promise<LiveSession[]> {
    const probed = await Promise.all(entries.map(async ([handle, H]) => ({ handle, H, ...(await this.write('probe', H, [tag, handle], 'always')) })));
    const drop: string[] = [];
    const repoint: string[] = [];
    const live: LiveSession[] = [];
    for (const { handle, H, reply, hash } of probed) {
      if (Number(reply[0]) !== 1) {
        drop.push(handle, H);
        continue;
      }
      if (hash !== H) repoint.push(handle, H, hash);
      const [created, seen, userAgent, ip] = reply.slice(1);
      live.push({ handle, hash, createdAt: Number(created), lastSeenAt: Number(seen), userAgent: text(userAgent) ?? '', ip: text(ip) ?? '' });
    }
    await Promise.all([
      drop.length > 0 ? this.runUser('prune', tag, drop) : undefined,
      repoint.length > 0 ? this.runUser('prune', tag, ['=', ...repoint]) : undefined,
    ]);
    return live;
  }

  /** End user `tag`'s session `handle`, stored under `H` (or wherever rotations moved it); true when it was live. */
  private async killHandle(tag: string, handle: string, H: string): Promise<boolean> {
    const { reply, hash } = await this.write('killHandle', H, [tag, handle], 'always');
    if (Number(reply[0]) !== 1) return false;
    await this.replicate(hash);
    return true;
  }

  /**
   * Acknowledge the end of a session only once a replica holds it (`WAIT 1` on the master that owns
   * its slot), so a failover cannot bring it back. Fails with 503 when no replica answers in time:
   * the session is ended on the master, but a failover right now could revive it.
   */
  private async replicate(hash: string): Promise<void> {
    const conn = this.conn;
    if (!this.waitReplicas || conn === undefined) return;
    const [key] = this.sessionKeys(hash);
    let acked: number;
    try {
      acked = Number(await withTimeout(conn.send(key, ['WAIT', '1', String(this.replicaTimeoutMs)]), this.replicaTimeoutMs + this.commandTimeoutMs));
    } catch (err) {
      throw storeUnavailable(reasonFor(err), err);
    }
    if (!(acked >= 1)) {
      throw storeUnavailable(`no replica acknowledged the end of the session within ${this.replicaTimeoutMs} ms (it is ended on the primary; retry)`);
    }
  }

  /**
   * Run a session script that may meet a rotation: while it answers 4 (being moved) wait and ask
   * again; an answer 5 (moved to N) is followed to N as `follow` says, else read as 1 (gone).
   * Answers the reply and the hashed id it was finally run on.
   */
  private async write(name: ScriptName, H: string, args: string[], follow: Follow): Promise<{ reply: unknown[]; hash: string }> {
    const deadline = Date.now() + this.commandTimeoutMs;
    let waited = follow === 'always';
    let hash = H;
    for (let hops = 0; ; ) {
      const reply = await this.runOn(name, hash, args);
      const code = Number(reply[0]);
      if (code === 4) {
        if (Date.now() > deadline) throw storeUnavailable('a rotation of this session did not finish in time');
        waited = follow !== 'never';
        await sleep(2);
        continue;
      }
      const next = text(reply[1]);
      if (code === 5 && waited && next !== undefined && ++hops <= 16) {
        hash = next;
        continue;
      }
      return { reply: code === 5 ? [1] : reply, hash };
    }
  }

  private sessionKeys(hash: string): string[] {
    return [`${this.prefix}{${hash}}`, `${this.prefix}{${hash}}:gone`];
  }

  private userKeys(tag: string): string[] {
    return ['s', 'h', 'r'].map((part) => `${this.prefix}u:{${tag}}:${part}`);
  }

  /** Run a session script on the session hashed `hash` (Redis only ever sees hashed ids). */
  private runOn(name: ScriptName, hash: string, args: string[]): Promise<unknown[]> {
    return this.run(name, this.sessionKeys(hash), [hash, ...args]);
  }

  private runUser(name: ScriptName, tag: string, args: string[]): Promise<unknown[]> {
    return this.run(name, this.userKeys(tag), args);
  }

  private async ready(): Promise<void> {
    if (this.life.state === 'running') return;
    if (this.life.state === 'stopped') throw storeUnavailable('the redis store was stopped');
    await this.start(this.options);
  }

  /**
   * Run a script with the clock, timeouts and prefix as its first arguments; answers what follows
   * the script's list of expired sessions, which go to `onExpired`. All its keys are in one slot.
   */
  private async run(name: ScriptName, keys: string[], args: string[]): Promise<unknown[]> {
    const conn = this.conn;
    if (conn === undefined) throw storeUnavailable('the redis store is not started');
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
    const key = keys[0];
    // node-redis's own abortSignal/timeout options cannot cancel a command already written to the
    // socket, so the wait is bounded here; a late reply is then read and dropped by the client.
    const send = async (): Promise<unknown> => {
      try {
        return await conn.send(key, ['EVALSHA', s.sha, ...tail]);
      } catch (err) {
        if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err;
        return await conn.send(key, ['EVAL', s.source, ...tail]);
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

/** One live session of a user's index. */
interface LiveSession {
  handle: string;
  hash: string;
  createdAt: number;
  lastSeenAt: number;
  userAgent: string;
  ip: string;
}

/** A flat `handle, H, handle, H, …` answer as pairs. */
function pairsOf(list: unknown): [string, string][] {
  const flat = Array.isArray(list) ? list.map((v) => String(v)) : [];
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as string]);
  return out;
}

/**
 * Whether the deployment has replicas to wait for: on a cluster, any node listed as a replica;
 * on one Redis, any connected replica (checked once, at start).
 */
async function hasReplicas(conn: Conn, timeoutMs: number): Promise<boolean> {
  try {
    if (conn.cluster) {
      const nodes = String(await withTimeout(conn.send(undefined, ['CLUSTER', 'NODES']), timeoutMs));
      return nodes.split('\n').some((line) => /\bslave\b/.test(line.split(' ')[2] ?? ''));
    }
    const info = String(await withTimeout(conn.send(undefined, ['INFO', 'replication']), timeoutMs));
    return /connected_slaves:[1-9]/.test(info);
  } catch {
    return false;
  }
}

/**
 * The Redis session store: one hash per session keyed by the hashed id, per-key fields, one Lua
 * script (one round trip) per read or write, on one Redis or a Redis Cluster, idle and absolute expiry from stored timestamps and Redis
 * TTLs, rotation without a lost or resurrecting write and tombstones, kills acknowledged once a replica holds them, sessions per user (index, revocation stamp, cap) and the
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
  if (options.waitForReplicas !== undefined && typeof options.waitForReplicas !== 'boolean') {
    throw errors.config('redisStore.waitForReplicas', 'must be true or false');
  }
  for (const name of ['connectTimeoutMs', 'commandTimeoutMs', 'replicaTimeoutMs'] as const) {
    const v = options[name];
    if (v !== undefined && !(typeof v === 'number' && v > 0)) throw errors.config(`redisStore.${name}`, 'must be a positive number');
  }
  return new RedisStore(options);
}
