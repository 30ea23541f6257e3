/**
 * The embedded session store (Nova's `nova_session_ets`, minus replication): sessions live in
 * this process's memory, expire on their own, and are removed by a sweeper that never holds the
 * event loop for more than about a millisecond at a time, even when a million expire at once.
 */
import { performance } from 'node:perf_hooks';
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
import { checkUserId, type SessionMeta, type SessionOwner, type SessionTake, type SessionUserIndex, type UserSessionInfo } from '../users.js';
import { readField, removeField, writeField, type Entry } from './memory-fields.js';
import { ShardedMap } from './memory-shards.js';
import { UserIndex } from './memory-users.js';
import { TimeQueue } from './time-queue.js';

/** Tuning for the sweeper; the defaults suit production. */
export interface MemoryStoreTuning {
  /** How often the sweeper wakes up when there is nothing left to do. Default 1000 ms. */
  sweepIntervalMs?: number;
  /** The longest one sweep slice may run before yielding to the event loop. Default 1 ms. */
  sweepBudgetMs?: number;
}

/** The memory store, with counters for monitoring and tests. */
export interface MemorySessionStore
  extends Omit<SessionStore, keyof SessionUserIndex | keyof SessionTake>, SessionUserIndex, SessionTake {
  /** Ids held: live sessions plus tombstones. */
  readonly size: number;
  /** Live sessions, the number `maxSessions` limits. */
  readonly liveSessions: number;
  /** Users in the per-user index: those with live sessions, plus those whose revocation stamp still counts. */
  readonly users: number;
  start(options: SessionStoreOptions): Promise<void>;
  /** Clears the sweeper's timers; later calls fail with `NOVA_ERR_SESSION_STORE_UNAVAILABLE`. */
  stop(): Promise<void>;
}

// Sessions are keyed by their raw ids, not by `hashSessionId`: this map is one process's memory,
// which holds the raw id anyway while a request runs, so nothing here is "at rest", and hashing
// on every request would cost CPU for no protection. Only `onExpired` hashes, and only when set.
class MemoryStore implements MemorySessionStore {
  readonly name = 'memory';
  private options: CheckedStoreOptions = checkStoreOptions();
  private now: () => number = Date.now;
  private readonly ids = new ShardedMap<Entry>();
  private readonly index = new UserIndex({ check: (e, now) => this.check(e, now), kill: (e, now) => this.kill(e, now) });
  private readonly created = new TimeQueue<Entry>(); // absolute expiry: creation order
  private readonly touched = new TimeQueue<Entry>(); // idle expiry: order of "last seen" rewrites
  private readonly graves = new TimeQueue<Entry>(); // tombstone removal: order of death
  private entries = 0;
  private live = 0;
  private state: 'new' | 'running' | 'stopped' = 'new';
  private timer: NodeJS.Timeout | undefined;
  private slice: NodeJS.Timeout | undefined;

  constructor(private readonly tuning: Required<MemoryStoreTuning>) {}

  get size(): number {
    return this.entries;
  }

  get liveSessions(): number {
    return this.live;
  }

  get users(): number {
    return this.index.size;
  }

  async start(options: SessionStoreOptions): Promise<void> {
    this.run(options);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.slice);
    this.timer = this.slice = undefined;
    this.state = 'stopped';
  }

  async getValue(id: string, key: string): Promise<Json | undefined> {
    const now = this.ready();
    const entry = this.find(id, now);
    if (entry?.alive !== true) return undefined;
    this.touch(entry, now);
    const text = readField(entry, key);
    return text === undefined ? undefined : (JSON.parse(text) as Json);
  }

  async setValue(id: string, key: string, value: Json): Promise<void> {
    const now = this.ready();
    checkId(id);
    const text = encodeSessionValue(key, value);
    const added = entryBytes(key, text);
    const limit = this.options.maxSessionBytes;
    const entry = this.find(id, now);
    if (entry === undefined) {
      if (added > limit) throw errors.sessionTooLarge(added, limit);
      this.create(id, now, key, text, added);
      return;
    }
    if (!entry.alive) throw errors.sessionGone();
    const old = readField(entry, key);
    const bytes = entry.bytes - (old === undefined ? 0 : entryBytes(key, old)) + added;
    if (bytes > limit) throw errors.sessionTooLarge(bytes, limit);
    writeField(entry, key, text);
    entry.bytes = bytes;
    this.touch(entry, now);
  }

  async deleteValue(id: string, key?: string): Promise<void> {
    const now = this.ready();
    const entry = this.find(id, now);
    // Unknown ids get no tombstone: an anonymous logout must not create records (CVE-2015-5963).
    if (entry?.alive !== true) return;
    if (key === undefined) return this.kill(entry, now);
    const old = removeField(entry, key);
    if (old !== undefined) entry.bytes -= entryBytes(key, old);
    this.touch(entry, now);
  }

  async rotate(oldId: string, newId: string): Promise<void> {
    const now = this.ready();
    checkId(newId);
    if (this.ids.has(newId)) throw errors.sessionIdInvalid('the new id is already in use');
    const entry = this.find(oldId, now);
    if (entry === undefined) return; // nothing was ever stored: nothing to move, nothing to record
    if (!entry.alive) throw errors.sessionGone();
    // The entry object keeps its place in the creation queue, so its absolute deadline is kept.
    // The binding stays on the entry, which the user index holds, so it follows to the new id.
    const tomb: Entry = { id: oldId, created: entry.created, lastSeen: now, alive: false, key: undefined, text: undefined, more: undefined, bytes: 0, bound: undefined };
    this.ids.set(oldId, tomb);
    this.graves.push(tomb, now);
    this.entries++;
    this.capGraves();
    entry.id = newId;
    this.ids.set(newId, entry);
    this.touch(entry, now);
  }

  async takeValue(id: string, key: string): Promise<Json | undefined> {
    const now = this.ready();
    const entry = this.find(id, now);
    if (entry?.alive !== true) return undefined;
    this.touch(entry, now);
    // Atomic without a lock: nothing between the read and the delete yields to the event loop.
    const old = removeField(entry, key);
    if (old === undefined) return undefined;
    entry.bytes -= entryBytes(key, old);
    return JSON.parse(old) as Json;
  }

  async bindUser(id: string, userId: string, meta: SessionMeta): Promise<string> {
    const now = this.ready();
    checkId(id);
    checkUserId(userId);
    let entry = this.find(id, now);
    if (entry === undefined) entry = this.create(id, now, undefined, undefined, 0);
    else if (!entry.alive) throw errors.sessionGone();
    else this.touch(entry, now);
    this.index.unbind(entry, now, this.options.absoluteTimeoutMs);
    const binding = this.index.bind(entry, userId, meta, now);
    this.index.cap(binding.user, entry, this.options.maxSessionsPerUser, now);
    return binding.handle;
  }

  async userOf(id: string): Promise<SessionOwner | undefined> {
    const now = this.ready();
    const entry = this.find(id, now);
    if (entry?.alive !== true || entry.bound === undefined) return undefined;
    this.touch(entry, now);
    return { userId: entry.bound.user.userId, handle: entry.bound.handle };
  }

  async listUserSessions(userId: string): Promise<UserSessionInfo[]> {
    return this.index.live(userId, this.ready()).map((e) => this.index.info(e));
  }

  async revokeUserSession(userId: string, handle: string): Promise<boolean> {
    return this.index.revokeOne(userId, handle, this.ready());
  }

  async revokeUserSessions(userId: string, exceptHandle?: string): Promise<number> {
    return this.index.revokeAll(userId, exceptHandle, this.ready());
  }

  private run(options: Partial<SessionStoreOptions>): void {
    const checked = checkStoreOptions(options);
    clearInterval(this.timer);
    this.options = checked;
    this.now = checked.now ?? Date.now;
    this.state = 'running';
    // unref: an idle sweeper must never keep the process alive.
    this.timer = setInterval(() => {
      if (this.slice === undefined) this.sweepSlice();
    }, this.tuning.sweepIntervalMs).unref();
  }

  /** The current time, starting with defaults when the app never called start(). */
  private ready(): number {
    if (this.state === 'stopped') throw storeUnavailable('the memory store was stopped');
    if (this.state === 'new') this.run({});
    return this.now();
  }

  /** The entry for `id`, after turning it into a tombstone if it has expired or been revoked. */
  private find(id: string, now: number): Entry | undefined {
    const entry = this.ids.get(id);
    if (entry !== undefined) this.check(entry, now);
    return entry;
  }

  /** End a live entry whose time has run out, or whose binding is older than its user's stamp. */
  private check(entry: Entry, now: number): void {
    if (!entry.alive) return;
    if (this.expired(entry, now)) this.expire(entry, now);
    else if (entry.bound !== undefined && this.index.revoked(entry)) this.kill(entry, now);
  }

  /** A new live session; the caller has checked its size. */
  private create(id: string, now: number, key: string | undefined, text: string | undefined, bytes: number): Entry {
    this.reserveSlot();
    const fresh: Entry = { id, created: now, lastSeen: now, alive: true, key, text, more: undefined, bytes, bound: undefined };
    this.ids.set(id, fresh);
    this.entries++;
    this.live++;
    this.created.push(fresh, now);
    this.touched.push(fresh, now);
    return fresh;
  }

  private expired(entry: Entry, now: number): boolean {
    const { idleTimeoutMs, absoluteTimeoutMs } = this.options;
    return now >= entry.created + absoluteTimeoutMs || now >= entry.lastSeen + idleTimeoutMs;
  }

  private touch(entry: Entry, now: number): void {
    if (now - entry.lastSeen < this.options.touchIntervalMs) return;
    entry.lastSeen = now;
    this.touched.push(entry, now); // the older queue slot goes stale: its time no longer matches
  }

  private kill(entry: Entry, now: number): void {
    entry.alive = false;
    entry.key = entry.text = entry.more = undefined;
    entry.bytes = 0;
    if (entry.bound !== undefined) this.index.unbind(entry, now, this.options.absoluteTimeoutMs);
    this.live--;
    // A session's absolute deadline was at most absoluteTimeoutMs ahead when it died.
    this.graves.push(entry, now);
    this.capGraves();
  }

  /** End a session found expired, and tell `onExpired`, by hashed id, after the store is consistent again. */
  private expire(entry: Entry, now: number): void {
    const hook = this.options.onExpired;
    const userId = entry.bound?.user.userId;
    this.kill(entry, now);
    if (hook === undefined) return;
    try {
      hook(hashSessionId(entry.id), userId);
    } catch {
      // The hook must not throw (store.ts); if it does, that is the listener's bug, and letting it
      // through would fail the request or stop the sweep for a session that is already ended.
    }
  }

  /**
   * Tombstones are bounded like live sessions: a login/logout loop would otherwise grow them for
   * a whole absolute timeout. Past `maxSessions` tombstones the oldest go first; a late write to
   * such an id can then start a new session under it, holding only that write, never old data.
   */
  private capGraves(): void {
    while (this.entries - this.live > this.options.maxSessions) {
      const e = this.graves.entry;
      if (e === undefined) return;
      this.graves.shift();
      this.forget(e);
    }
  }

  /** Remove a tombstone from the index, unless its id has moved on or been reused since. */
  private forget(e: Entry): void {
    if (this.ids.get(e.id) === e) {
      this.ids.delete(e.id);
      this.entries--;
    }
  }

  /**
   * Make room for one more session. Expired sessions go first; live ones are never evicted,
   * because evicting on a flood of anonymous sessions logs real users out (Django CVE-2015-5963).
   */
  private reserveSlot(): void {
    const limit = this.options.maxSessions;
    if (this.live < limit) return;
    this.sweep(this.tuning.sweepBudgetMs);
    if (this.live >= limit) throw errors.sessionStoreFull(limit);
  }

  private sweepSlice(): void {
    this.slice = undefined;
    if (this.state === 'running' && this.sweep(this.tuning.sweepBudgetMs)) {
      // More is due: continue on the next loop turn, after pending I/O. Not setImmediate: an
      // unref'd immediate does not stop the loop from blocking in poll, so on an idle server the
      // next slice would wait for the next interval tick. A 0 ms timer fires within ~1 ms and,
      // unref'd, still never keeps the process alive.
      this.slice = setTimeout(() => this.sweepSlice(), 0).unref();
    }
  }

  /** Remove what is due, for at most `budgetMs`. True when the budget ran out first. */
  private sweep(budgetMs: number): boolean {
    const now = this.now();
    const deadline = performance.now() + budgetMs;
    const { idleTimeoutMs, absoluteTimeoutMs } = this.options;
    let steps = 0;
    const outOfTime = () => (++steps & 63) === 0 && performance.now() >= deadline;

    for (let e = this.created.entry; e !== undefined; e = this.created.entry) {
      if (e.alive && now < this.created.at + absoluteTimeoutMs) break;
      this.created.shift();
      if (e.alive) this.expire(e, now);
      if (outOfTime()) return true;
    }
    for (let e = this.touched.entry; e !== undefined; e = this.touched.entry) {
      const stale = !e.alive || e.lastSeen !== this.touched.at;
      if (!stale && now < this.touched.at + idleTimeoutMs) break;
      this.touched.shift();
      if (!stale) this.expire(e, now);
      if (outOfTime()) return true;
    }
    for (let e = this.graves.entry; e !== undefined; e = this.graves.entry) {
      if (now < this.graves.at + absoluteTimeoutMs) break;
      this.graves.shift();
      this.forget(e);
      if (outOfTime()) return true;
    }
    return this.index.sweep(now, absoluteTimeoutMs, outOfTime);
  }
}

function checkId(id: string): void {
  if (typeof id !== 'string' || id.length === 0) throw errors.sessionIdInvalid('a session id must be a non-empty string');
}

/**
 * The in-memory session store, the default. Per-key operations, idle and absolute expiry, a
 * size cap that refuses new sessions rather than evicting live ones, tombstones so a deleted or
 * rotated session is never resurrected, and an incremental sweeper on an unref'd timer. Also
 * sessions per user (an exact in-process index) and the atomic take that flash messages use;
 * `onExpired` hears of expiries found by the sweeper and by reads.
 *
 * @example
 * ```ts
 * const store = memoryStore();
 * await store.start({ idleTimeoutMs: 1_800_000, absoluteTimeoutMs: 28_800_000,
 *   touchIntervalMs: 60_000, maxSessionBytes: 65_536, maxSessions: 100_000 });
 * const id = generateSessionId();
 * await store.setValue(id, 'username', 'alice');
 * console.log(store.liveSessions); // 1
 * const handle = await store.bindUser(id, 'ada', { userAgent: 'Firefox/140' });
 * await store.revokeUserSession('ada', handle); // true: that session is gone
 * await store.stop();
 * ```
 */
export function memoryStore(tuning: MemoryStoreTuning = {}): MemorySessionStore {
  const sweepIntervalMs = tuning.sweepIntervalMs ?? 1000;
  const sweepBudgetMs = tuning.sweepBudgetMs ?? 1;
  if (!(sweepIntervalMs > 0) || !(sweepBudgetMs > 0)) {
    throw errors.config('memoryStore', 'sweepIntervalMs and sweepBudgetMs must be positive numbers');
  }
  return new MemoryStore({ sweepIntervalMs, sweepBudgetMs });
}
