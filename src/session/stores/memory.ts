/**
 * The embedded session store (Nova's `nova_session_ets`, minus replication): sessions live in
 * this process's memory, expire on their own, and are removed by a sweeper that never holds the
 * event loop for more than about a millisecond at a time, even when a million expire at once.
 */
import { performance } from 'node:perf_hooks';
import { errors } from '../../errors.js';
import type { Json } from '../../results/result.js';
import { hashSessionId } from '../id-hash.js';
import { checkStoreOptions, encodeSessionValue, storeUnavailable, type CheckedStoreOptions, type SessionStore, type SessionStoreOptions } from '../store.js';
import { checkUserId, type SessionMeta, type SessionOwner, type SessionTake, type SessionUserIndex, type UserSessionInfo } from '../users.js';
import { ENTRY_BYTES, FIELD_BYTES, SharedStrings, stringBytes } from './memory-bytes.js';
import { created, eachField, Entry, entryBytes, lastSeen, readField, removeField, smallInt, writeField } from './memory-fields.js';
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
export interface MemorySessionStore extends Omit<SessionStore, keyof SessionUserIndex | keyof SessionTake>, SessionUserIndex, SessionTake {
  /** Ids held: live sessions plus tombstones. */
  readonly size: number;
  /** Live sessions, the number `maxSessions` limits. */
  readonly liveSessions: number;
  /** Users in the per-user index: those with live sessions, plus those whose revocation stamp still counts. */
  readonly users: number;
  /**
   * The heap the store takes, estimated as it goes (`memory-bytes.ts`): ids, keys, values,
   * tombstones and the per-user index. The number `maxStoreBytes` limits.
   */
  readonly bytes: number;
  /** Sessions not tied to a user that were ended to make room (`maxStoreBytes`, `maxSessions`). */
  readonly evictions: number;
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
  /** Key names, one copy each for all sessions. */
  private readonly keys = new SharedStrings();
  private readonly index = new UserIndex({ check: (e, now) => this.check(e, now), kill: (e, now) => this.kill(e, now) });
  private readonly created = new TimeQueue<Entry>(); // absolute expiry: creation order
  private readonly touched = new TimeQueue<Entry>(); // idle expiry: order of "last seen" rewrites
  private readonly graves = new TimeQueue<Entry>(); // tombstone removal: order of death
  // Where the search for the oldest session tied to no user, the first to go when the store is
  // full, resumes in `created`: every slot before it holds a session bound to a user or ended (a
  // session never goes back to anonymous), or one in `inUse`. Not a queue of their own: that was
  // 16 bytes a session.
  private evictFrom = 0;
  // Sessions the search passed over because they were being written: evicted last, oldest first.
  private readonly inUse = new TimeQueue<Entry>();
  // Sessions that ended while in `created` (so also in `touched`): their slots wait for the head of
  // each queue, which a session due later holds for up to a whole absolute timeout.
  private endedQueued = 0;
  private entries = 0;
  private live = 0;
  /** Estimated heap of the ids and their keys; the user index counts its own (`index.bytes`). */
  private held = 0;
  private evicted = 0;
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

  get bytes(): number {
    return this.held + this.index.bytes;
  }

  get evictions(): number {
    return this.evicted;
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
    const field = measure(key, text);
    const limit = this.options.maxSessionBytes;
    const entry = this.find(id, now);
    if (entry === undefined) {
      if (field.bytes > limit) throw errors.sessionTooLarge(field.bytes, limit);
      this.reserve(ENTRY_BYTES + field.heap, true, undefined, now);
      this.create(id, now, this.keys.get(key), text, field.heap);
      return;
    }
    if (!entry.alive) throw errors.sessionGone();
    const oldText = readField(entry, key);
    const old = oldText === undefined ? NO_FIELD : measure(key, oldText);
    const bytes = entryBytes(entry) - old.bytes + field.bytes;
    if (bytes > limit) throw errors.sessionTooLarge(bytes, limit);
    const growth = field.heap - old.heap;
    if (growth > 0) this.reserve(growth, false, entry, now);
    writeField(entry, oldText === undefined ? this.keys.get(key) : key, text);
    this.held += growth;
    this.touch(entry, now);
  }

  async deleteValue(id: string, key?: string): Promise<void> {
    const now = this.ready();
    const entry = this.find(id, now);
    // Unknown ids get no tombstone: an anonymous logout must not create records (CVE-2015-5963).
    if (entry?.alive !== true) return;
    if (key === undefined) return this.kill(entry, now);
    const old = removeField(entry, key);
    if (old !== undefined) this.removed(key, old);
    this.touch(entry, now);
  }

  async rotate(oldId: string, newId: string): Promise<void> {
    const now = this.ready();
    checkId(newId);
    if (this.ids.has(newId)) throw errors.sessionIdInvalid('the new id is already in use');
    const entry = this.find(oldId, now);
    if (entry === undefined) return; // nothing was ever stored: nothing to move, nothing to record
    if (!entry.alive) throw errors.sessionGone();
    this.reserve(ENTRY_BYTES, false, entry, now); // the old id stays, as a tombstone
    // The entry object keeps its place in the creation queue, so its absolute deadline is kept.
    // The binding stays on the entry, which the user index holds, so it follows to the new id.
    const tomb = Entry.tombstone(oldId, entry);
    this.ids.set(oldId, tomb);
    this.graves.push(tomb, now);
    this.entries++;
    this.held += ENTRY_BYTES;
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
    this.removed(key, old);
    return JSON.parse(old) as Json;
  }

  async bindUser(id: string, userId: string, meta: SessionMeta): Promise<string> {
    const now = this.ready();
    checkId(id);
    checkUserId(userId);
    let entry = this.find(id, now);
    // A rebinding frees the old binding, but possibly only after the new one is made: not counted.
    const cost = this.index.bindCost(userId, meta);
    if (entry === undefined) {
      this.reserve(ENTRY_BYTES + cost, true, undefined, now);
      entry = this.create(id, now, undefined, undefined, 0);
    } else if (!entry.alive) throw errors.sessionGone();
    else {
      this.reserve(cost, false, entry, now);
      this.touch(entry, now);
    }
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

  /** A new live session; the caller has checked its size and reserved its room. */
  private create(id: string, now: number, key: string | undefined, text: string | undefined, heap: number): Entry {
    const fresh = new Entry(id, now, key, text);
    this.ids.set(id, fresh);
    this.entries++;
    this.live++;
    this.held += ENTRY_BYTES + heap;
    // The times the entry gives back, not `now`: the sweep compares a slot's time with the entry's
    // last-seen time, and a clock with fractions of a millisecond need not survive the round trip
    // through the entry's small integers exactly.
    this.created.push(fresh, created(fresh));
    this.touched.push(fresh, lastSeen(fresh));
    this.compactQueues();
    return fresh;
  }

  /**
   * Drop the queue slots of ended sessions once they are more than the live sessions and take
   * more than a quarter of the byte budget (at ~160 bytes each, an ended entry and its slots; at
   * least 16,384). A slot leaves a queue at its head, and a session due later (one logged in
   * before a flood) can hold the head for a whole absolute timeout: a flood of anonymous sessions,
   * each evicting the last, would otherwise pile up ended entries outside the budget (measured:
   * 100,000 evictions behind one logged-in session grew the heap by 16 MiB; 1.0-1.4 MiB with this).
   * One pass, linear in the queues' length (measured ~40 ns a slot: 2,000,000 slots took 77-86 ms),
   * which the ended sessions at least doubled: amortised over them, and rare outside a flood.
   */
  private compactQueues(): void {
    if (this.endedQueued <= Math.max(16_384, this.live, Math.floor(this.options.maxStoreBytes / 4 / 160))) return;
    this.created.compact((e) => e.alive);
    this.touched.compact((e, at) => e.alive && lastSeen(e) === at);
    this.inUse.compact((e) => e.alive && e.bound === undefined);
    this.endedQueued = 0;
    this.evictFrom = this.created.first;
  }

  /** Account for a key taken out of a live session. */
  private removed(key: string, text: string): void {
    const field = measure(key, text);
    this.held -= field.heap;
  }

  private expired(entry: Entry, now: number): boolean {
    const { idleTimeoutMs, absoluteTimeoutMs } = this.options;
    const born = created(entry);
    return now >= born + absoluteTimeoutMs || now >= born + entry.seen + idleTimeoutMs;
  }

  private touch(entry: Entry, now: number): void {
    if (now - lastSeen(entry) < this.options.touchIntervalMs) return;
    entry.seen = smallInt(now - created(entry));
    this.touched.push(entry, lastSeen(entry)); // the older queue slot goes stale: its time no longer matches
  }

  private kill(entry: Entry, now: number): void {
    this.held -= fieldsHeap(entry); // the entry itself stays, as a tombstone, until forgotten
    entry.die();
    if (entry.bound !== undefined) this.index.unbind(entry, now, this.options.absoluteTimeoutMs);
    this.live--;
    this.endedQueued++;
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
      this.held -= ENTRY_BYTES;
    }
  }

  /**
   * Make room for a write that adds `growth` bytes (and, when `fresh`, one more session), or
   * refuse it with `NOVA_ERR_SESSION_STORE_FULL`. What goes, in order: expired sessions;
   * tombstones, oldest first (a late write to such an id can then only start an empty session,
   * as past the tombstone cap); sessions tied to no user, oldest created first, never `keep` (the
   * session being written). Sessions tied to a user are never evicted: evicting them on a flood
   * would log real users out (Django CVE-2015-5963); past that point the flood is refused.
   */
  private reserve(growth: number, fresh: boolean, keep: Entry | undefined, now: number): void {
    const { maxSessions, maxStoreBytes } = this.options;
    const countFull = () => fresh && this.live >= maxSessions;
    const bytesFull = () => this.held + this.index.bytes + growth > maxStoreBytes;
    if (!countFull() && !bytesFull()) return;
    this.sweep(this.tuning.sweepBudgetMs);
    if (keep?.alive === false) throw errors.sessionGone(); // its time ran out meanwhile: the manager moves to a new id
    while (countFull()) {
      if (!this.evictAnonymous(keep, now)) throw errors.sessionStoreFull(maxSessions, 'sessions');
    }
    while (bytesFull()) {
      if (!this.dropTombstone() && !this.evictAnonymous(keep, now)) throw errors.sessionStoreFull(maxStoreBytes, 'bytes');
    }
  }

  /** Forget the oldest tombstone; false when there is none. */
  private dropTombstone(): boolean {
    for (let e = this.graves.entry; e !== undefined; e = this.graves.entry) {
      this.graves.shift();
      if (this.ids.get(e.id) === e) {
        this.forget(e);
        return true;
      }
    }
    return false;
  }

  /** End the oldest live session tied to no user, other than `keep`; false when there is none. */
  private evictAnonymous(keep: Entry | undefined, now: number): boolean {
    let kept = false;
    let victim: Entry | undefined;
    const end = this.created.end;
    let at = Math.max(this.evictFrom, this.created.first);
    for (; at < end && victim === undefined; at++) {
      const e = this.created.entryAt(at) as Entry;
      if (!e.alive || e.bound !== undefined) continue; // bound or ended since it was created
      if (e === keep) kept = true;
      else victim = e;
    }
    this.evictFrom = at;
    for (let e = this.inUse.entry; victim === undefined && e !== undefined; e = this.inUse.entry) {
      this.inUse.shift();
      if (!e.alive || e.bound !== undefined) continue;
      if (e === keep) kept = true;
      else victim = e;
    }
    // The session being written goes to the back: it is in use, which the evicted were not lately.
    if (kept) this.inUse.push(keep as Entry, now);
    if (victim === undefined) return false;
    this.kill(victim, now);
    this.evicted++;
    return true;
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
      if (e.alive) this.expire(e, now);
      this.created.shift();
      this.endedQueued--;
      if (outOfTime()) return true;
    }
    for (let e = this.touched.entry; e !== undefined; e = this.touched.entry) {
      const stale = !e.alive || lastSeen(e) !== this.touched.at;
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
    for (let e = this.inUse.entry; e !== undefined && (!e.alive || e.bound !== undefined); e = this.inUse.entry) {
      this.inUse.shift(); // sessions bound or ended since: nothing to do but let go
      if (outOfTime()) return true;
    }
    return this.index.sweep(now, absoluteTimeoutMs, outOfTime);
  }
}

/** A key and its JSON text: UTF-8 bytes (`maxSessionBytes`, as `entryBytes` counts) and estimated heap (`maxStoreBytes`). */
interface Measured {
  bytes: number;
  heap: number;
}

const NO_FIELD: Measured = { bytes: 0, heap: 0 };

function measure(key: string, text: string): Measured {
  const k = Buffer.byteLength(key, 'utf8');
  const t = Buffer.byteLength(text, 'utf8');
  return { bytes: k + t, heap: FIELD_BYTES + stringBytes(key.length, k) + stringBytes(text.length, t) };
}

/** The heap `e`'s keys take, as `measure` counted them in: recomputed when it dies rather than held in every entry. */
function fieldsHeap(e: Entry): number {
  let heap = 0;
  eachField(e, (key, text) => {
    heap += measure(key, text).heap;
  });
  return heap;
}

function checkId(id: string): void {
  if (typeof id !== 'string' || id.length === 0) throw errors.sessionIdInvalid('a session id must be a non-empty string');
}

/**
 * The in-memory session store, the default. Per-key operations, idle and absolute expiry, a
 * count cap (`maxSessions`) and a byte budget (`maxStoreBytes`) that evict sessions tied to no
 * user, oldest first, and then refuse new sessions and growing writes, never evicting a logged-in
 * one, tombstones so a deleted or
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
