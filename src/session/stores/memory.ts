/**
 * The embedded session store (Nova's `nova_session_ets`, minus replication): sessions live in
 * this process's memory, expire on their own, and are removed by a sweeper that never holds the
 * event loop for more than about a millisecond at a time, even when a million expire at once.
 */
import { performance } from 'node:perf_hooks';
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
import { TimeQueue } from './time-queue.js';

/** One id's record. `alive === false` makes it a tombstone: the id is dead and stays dead. */
interface Entry {
  id: string;
  readonly created: number;
  lastSeen: number;
  alive: boolean;
  // Values are kept as JSON text: encoding is needed anyway to check and size them, and
  // JSON.parse on the way out is the cheapest copy. Measured on Node 20 for small values
  // ("alice", {user, roles[2], n}, a 10-item cart): JSON.parse 0.2/0.9/4.6 µs against
  // structuredClone 0.6/3.7/15.6 µs.
  //
  // The first key lives in the entry itself; most sessions hold one or two keys, and an array
  // for them would cost every read two more memory fetches (the array and its elements) and
  // every session ~40 bytes of heap. `key === undefined` is an empty slot, and then `more` is
  // empty too: removing the first key moves another into its place.
  key: string | undefined;
  text: string | undefined;
  more: Fields | undefined;
  bytes: number;
}

/**
 * Keys after the first and their JSON texts, flat: `[key1, text1, key2, text2, …]`. Sessions
 * hold a handful of keys, where a scan is as quick as hashing, and a Map costs ~190 bytes of heap
 * against ~50 for this array. `maxSessionBytes` bounds the scan.
 */
type Fields = string[];

function fieldIndex(fields: Fields, key: string): number {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === key) return i;
  return -1;
}

function readField(e: Entry, key: string): string | undefined {
  if (e.key === key) return e.text;
  if (e.more === undefined) return undefined;
  const i = fieldIndex(e.more, key);
  return i === -1 ? undefined : e.more[i + 1];
}

/** Store `text` under `key`; the caller has checked the size with the old text `readField` gave. */
function writeField(e: Entry, key: string, text: string): void {
  if (e.key === key || e.key === undefined) {
    e.key = key;
    e.text = text;
    return;
  }
  const i = e.more === undefined ? -1 : fieldIndex(e.more, key);
  if (i !== -1) (e.more as Fields)[i + 1] = text;
  else if (e.more === undefined) e.more = [key, text];
  else e.more.push(key, text);
}

/** Remove `key`; returns its text, if it had one. */
function removeField(e: Entry, key: string): string | undefined {
  if (e.key === key) {
    const old = e.text;
    // Keep the slot filled while other keys exist, so a write finding it empty knows the key is new.
    const lastText = e.more?.pop();
    const lastKey = e.more?.pop();
    e.key = lastKey;
    e.text = lastText;
    if (e.more?.length === 0) e.more = undefined;
    return old;
  }
  const i = e.more === undefined ? -1 : fieldIndex(e.more, key);
  if (i === -1) return undefined;
  return (e.more as Fields).splice(i, 2)[1];
}

// The id index is split into shards for the same reason as TimeQueue: 256 maps of ~4k entries each
// rehash in microseconds; one map of a million stalls (measured: ~190 ms worst delete batch with
// one map, ~20 ms with 256, during a synchronous million-entry delete loop).
const SHARDS = 256;
function shardOf(id: string): number {
  // Fibonacci hashing of the first three characters: ids are random, so three are plenty (shards
  // of a million ids measured 3.7k-4.1k entries; two characters gave 3.0k-5.2k).
  const head = (id.charCodeAt(0) | 0) | ((id.charCodeAt(1) | 0) << 8) | ((id.charCodeAt(2) | 0) << 16);
  return Math.imul(head, 0x9e3779b1) >>> 24;
}

/** Tuning for the sweeper; the defaults suit production. */
export interface MemoryStoreTuning {
  /** How often the sweeper wakes up when there is nothing left to do. Default 1000 ms. */
  sweepIntervalMs?: number;
  /** The longest one sweep slice may run before yielding to the event loop. Default 1 ms. */
  sweepBudgetMs?: number;
}

/** The memory store, with counters for monitoring and tests. */
export interface MemorySessionStore extends SessionStore {
  /** Ids held: live sessions plus tombstones. */
  readonly size: number;
  /** Live sessions, the number `maxSessions` limits. */
  readonly liveSessions: number;
  start(options: SessionStoreOptions): Promise<void>;
  /** Clears the sweeper's timers; later calls fail with `NOVA_ERR_SESSION_STORE_UNAVAILABLE`. */
  stop(): Promise<void>;
}

class MemoryStore implements MemorySessionStore {
  readonly name = 'memory';
  private options: SessionStoreOptions = checkStoreOptions();
  private now: () => number = Date.now;
  private readonly shards: Map<string, Entry>[] = Array.from({ length: SHARDS }, () => new Map());
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
      this.reserveSlot();
      const fresh: Entry = { id, created: now, lastSeen: now, alive: true, key, text, more: undefined, bytes: added };
      this.shard(id).set(id, fresh);
      this.entries++;
      this.live++;
      this.created.push(fresh, now);
      this.touched.push(fresh, now);
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
    if (this.shard(newId).has(newId)) throw errors.sessionIdInvalid('the new id is already in use');
    const entry = this.find(oldId, now);
    if (entry === undefined) return; // nothing was ever stored: nothing to move, nothing to record
    if (!entry.alive) throw errors.sessionGone();
    // The entry object keeps its place in the creation queue, so its absolute deadline is kept.
    const tomb: Entry = { id: oldId, created: entry.created, lastSeen: now, alive: false, key: undefined, text: undefined, more: undefined, bytes: 0 };
    this.shard(oldId).set(oldId, tomb);
    this.graves.push(tomb, now);
    this.entries++;
    this.capGraves();
    entry.id = newId;
    this.shard(newId).set(newId, entry);
    this.touch(entry, now);
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

  private shard(id: string): Map<string, Entry> {
    return this.shards[shardOf(id)] as Map<string, Entry>;
  }

  /** The entry for `id`, after turning it into a tombstone if its time has run out. */
  private find(id: string, now: number): Entry | undefined {
    const entry = this.shard(id).get(id);
    if (entry?.alive === true && this.expired(entry, now)) this.kill(entry, now);
    return entry;
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
    this.live--;
    // A session's absolute deadline was at most absoluteTimeoutMs ahead when it died.
    this.graves.push(entry, now);
    this.capGraves();
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
    const shard = this.shard(e.id);
    if (shard.get(e.id) === e) {
      shard.delete(e.id);
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
      if (e.alive) this.kill(e, now);
      if (outOfTime()) return true;
    }
    for (let e = this.touched.entry; e !== undefined; e = this.touched.entry) {
      const stale = !e.alive || e.lastSeen !== this.touched.at;
      if (!stale && now < this.touched.at + idleTimeoutMs) break;
      this.touched.shift();
      if (!stale) this.kill(e, now);
      if (outOfTime()) return true;
    }
    for (let e = this.graves.entry; e !== undefined; e = this.graves.entry) {
      if (now < this.graves.at + absoluteTimeoutMs) break;
      this.graves.shift();
      this.forget(e);
      if (outOfTime()) return true;
    }
    return false;
  }
}

function checkId(id: string): void {
  if (typeof id !== 'string' || id.length === 0) throw errors.sessionIdInvalid('a session id must be a non-empty string');
}

/**
 * The in-memory session store, the default. Per-key operations, idle and absolute expiry, a
 * size cap that refuses new sessions rather than evicting live ones, tombstones so a deleted or
 * rotated session is never resurrected, and an incremental sweeper on an unref'd timer.
 *
 * @example
 * ```ts
 * const store = memoryStore();
 * await store.start({ idleTimeoutMs: 1_800_000, absoluteTimeoutMs: 28_800_000,
 *   touchIntervalMs: 60_000, maxSessionBytes: 65_536, maxSessions: 100_000 });
 * await store.setValue(generateSessionId(), 'username', 'alice');
 * console.log(store.liveSessions); // 1
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
