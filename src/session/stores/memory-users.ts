/**
 * The memory store's per-user index: user id → that user's live sessions by handle, plus the
 * user's revocation stamp. The store keeps it exact (every kill takes the session off it), so
 * listing a user is a lookup, never a scan of all sessions.
 */
import { MAX_USER_AGENT_LENGTH, newHandle, type SessionMeta, type UserSessionInfo } from '../users.js';
import { BINDING_BYTES, heapOf, ownCopy, SharedStrings, USER_BYTES } from './memory-bytes.js';
import { created, lastSeen, type Entry } from './memory-fields.js';
import { TimeQueue } from './time-queue.js';

/** What a bound session records about its user; held in the entry's one `bound` field. */
export interface Binding {
  // The record itself, not the user id: a bound session's record always exists (it lists the
  // session), so reads check the stamp without a map lookup.
  readonly user: UserRecord;
  readonly handle: string;
  /** Compared with the user's stamp; the session of a revoke-all's exception is moved up to it. */
  boundAt: number;
  readonly userAgent: string | undefined;
  readonly ip: string | undefined;
}

/** One user: their live sessions by handle, and the time before which their bindings are void. */
export interface UserRecord {
  readonly userId: string;
  // An array, not a Map by handle: a user holds a handful of sessions (at most
  // maxSessionsPerUser), where a scan costs nothing, and a one-entry Map costs ~200 bytes of heap
  // per user against ~50 for the array.
  readonly sessions: Entry[];
  /** 0 when never revoked. */
  revokedBefore: number;
  /** In the queue of records kept only for their stamp. */
  queued: boolean;
}

/** How the index ends sessions: through the store, so its counts, queues and tombstones stay right. */
export interface SessionEnder {
  /** End the entry if it has expired or was bound before its user's stamp. */
  check(entry: Entry, now: number): void;
  /** End a live entry (leaving a tombstone); it leaves the index through `unbind`. */
  kill(entry: Entry, now: number): void;
}

/**
 * The index. A record lives while it lists a session; an empty one is kept only while its stamp
 * still matters (for `absoluteTimeoutMs`: no session bound before it can live longer), then
 * `sweep` drops it, so users who come and go leave nothing behind.
 *
 * @example
 * ```ts
 * const index = new UserIndex({ check, kill });
 * const { handle } = index.bind(entry, 'ada', { userAgent: 'Firefox' }, Date.now());
 * index.unbind(entry, Date.now(), absoluteTimeoutMs); // on logout, expiry, revoke
 * ```
 */
export class UserIndex {
  private readonly records = new Map<string, UserRecord>();
  // Empty records kept for their stamp, in the order they were queued.
  private readonly stamped = new TimeQueue<UserRecord>();
  #bytes = 0;

  /** User agents: many sessions share a handful (one per browser version). */
  private readonly agents = new SharedStrings();

  constructor(private readonly store: SessionEnder) {}

  /** Users with a record: those with live sessions plus those whose stamp still counts. */
  get size(): number {
    return this.records.size;
  }

  /** The heap the index takes, estimated (`memory-bytes.ts`): records, bindings, their strings. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The bytes `bind(…, userId, meta)` would add, for the store's budget. */
  bindCost(userId: string, meta: SessionMeta | undefined): number {
    const { userAgent, ip } = clipMeta(meta);
    const user = this.records.has(userId) ? 0 : USER_BYTES + heapOf(userId);
    return user + BINDING_BYTES + heapOf(userAgent) + heapOf(ip);
  }

  /** The bytes unbinding `entry` frees (its user's record aside). */
  bindingBytes(binding: Binding): number {
    return BINDING_BYTES + heapOf(binding.userAgent) + heapOf(binding.ip);
  }

  record(userId: string): UserRecord | undefined {
    return this.records.get(userId);
  }

  /** Tie a live entry that has no binding to `userId`, under a new handle. */
  bind(entry: Entry, userId: string, meta: SessionMeta | undefined, now: number): Binding {
    let user = this.records.get(userId);
    if (user === undefined) {
      // Copies: the caller's strings may be slices of a request body, which they would keep alive.
      user = { userId: ownCopy(userId), sessions: [], revokedBefore: 0, queued: false };
      this.records.set(user.userId, user);
      this.#bytes += USER_BYTES + heapOf(userId);
    }
    const handle = newHandle();
    const { userAgent, ip } = clipMeta(meta);
    const binding: Binding = {
      user,
      handle,
      // Never before the stamp: a login after a revoke-all must survive it, even if the clock
      // stepped back in between.
      boundAt: Math.max(now, user.revokedBefore),
      userAgent: this.agents.get(userAgent),
      ip: ownCopy(ip),
    };
    user.sessions.push(entry);
    entry.bound = binding;
    this.#bytes += this.bindingBytes(binding);
    return binding;
  }

  /** Take the entry off its user's index (logout, rotation away, expiry, revocation, rebinding). */
  unbind(entry: Entry, now: number, absoluteTimeoutMs: number): void {
    const binding = entry.bound;
    if (binding === undefined) return;
    entry.bound = undefined;
    this.#bytes -= this.bindingBytes(binding);
    const user = binding.user;
    const at = user.sessions.indexOf(entry);
    if (at !== -1) user.sessions.splice(at, 1);
    if (user.sessions.length === 0) this.release(user, now, absoluteTimeoutMs);
  }

  /** The user's live sessions, oldest first, ending those found expired or revoked on the way. */
  live(userId: string, now: number): Entry[] {
    const user = this.records.get(userId);
    if (user === undefined) return [];
    return this.checked(user, now).sort((a, b) => created(a) - created(b));
  }

  /** End the session with this handle if it is a live session of `userId`. */
  revokeOne(userId: string, handle: string, now: number): boolean {
    const entry = this.records.get(userId)?.sessions.find((e) => e.bound?.handle === handle);
    if (entry === undefined) return false;
    this.store.check(entry, now);
    if (!entry.alive) return false;
    this.store.kill(entry, now);
    return true;
  }

  /** End every session of `userId` but `exceptHandle`'s and raise the stamp; how many ended. */
  revokeAll(userId: string, exceptHandle: string | undefined, now: number): number {
    const user = this.records.get(userId);
    // No record means no session of this user anywhere: the index is exact and a bind never
    // waits half-done, so a stamp would guard nothing, and it would let revoke-all calls for
    // made-up user ids fill memory.
    if (user === undefined) return 0;
    const live = this.checked(user, now); // expired ones end as expired, not as revoked
    if (now > user.revokedBefore) user.revokedBefore = now;
    let ended = 0;
    for (const entry of live) {
      const binding = entry.bound as Binding;
      if (binding.handle === exceptHandle) binding.boundAt = user.revokedBefore;
      else {
        this.store.kill(entry, now);
        ended++;
      }
    }
    return ended;
  }

  /** Past `max` sessions, end the user's oldest, never `keep` (the session just bound). */
  cap(user: UserRecord, keep: Entry, max: number, now: number): void {
    if (user.sessions.length <= max) return;
    this.checked(user, now); // expired ones free their places first
    while (user.sessions.length > max) {
      let oldest: Entry | undefined;
      for (const e of user.sessions) if (e !== keep && (oldest === undefined || created(e) < created(oldest))) oldest = e;
      if (oldest === undefined) return;
      this.store.kill(oldest, now);
    }
  }

  /** True when the entry was bound before its user's stamp: it must read as gone. */
  revoked(entry: Entry): boolean {
    const binding = entry.bound;
    return binding !== undefined && binding.boundAt < binding.user.revokedBefore;
  }

  /** How a bound, live entry shows in `listUserSessions`. */
  info(entry: Entry): UserSessionInfo {
    const binding = entry.bound as Binding;
    return { handle: binding.handle, createdAt: created(entry), lastSeenAt: lastSeen(entry), userAgent: binding.userAgent, ip: binding.ip };
  }

  /**
   * Drop empty records whose stamp no longer counts, for as long as `outOfTime()` allows. True
   * when it stopped for time with work left.
   */
  sweep(now: number, absoluteTimeoutMs: number, outOfTime: () => boolean): boolean {
    for (let user = this.stamped.entry; user !== undefined; user = this.stamped.entry) {
      if (now < this.stamped.at + absoluteTimeoutMs) break;
      this.stamped.shift();
      user.queued = false;
      // A record that gained a session since is kept by it; it comes back here when it empties.
      if (user.sessions.length === 0) this.release(user, now, absoluteTimeoutMs);
      if (outOfTime()) return true;
    }
    return false;
  }

  /** The user's sessions still live after checking each. */
  private checked(user: UserRecord, now: number): Entry[] {
    // A copy: ending a session removes it from the array being walked.
    const sessions = [...user.sessions];
    for (const e of sessions) this.store.check(e, now);
    return sessions.filter((e) => e.alive);
  }

  /** An empty record: gone now, or queued until its stamp stops counting. */
  private release(user: UserRecord, now: number, absoluteTimeoutMs: number): void {
    if (now >= user.revokedBefore + absoluteTimeoutMs) {
      if (this.records.get(user.userId) === user) {
        this.records.delete(user.userId);
        this.#bytes -= USER_BYTES + heapOf(user.userId);
      }
    } else if (!user.queued) {
      // Queued at `now`, not at the stamp, so the queue stays in time order; a stamp raised
      // again later only sends the record round once more.
      user.queued = true;
      this.stamped.push(user, now);
    }
  }
}

/** The metadata a binding keeps: the user agent cut to its limit, strings only. */
function clipMeta(meta: SessionMeta | undefined): { userAgent: string | undefined; ip: string | undefined } {
  const userAgent = meta?.userAgent;
  const ip = meta?.ip;
  return {
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, MAX_USER_AGENT_LENGTH) : undefined,
    ip: typeof ip === 'string' ? ip : undefined,
  };
}
