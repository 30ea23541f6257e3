/**
 * Sessions per user on the replicated store (`SessionUserIndex`): binds and revoke-alls travel as
 * ops (`messages.ts`), every node derives its per-user index and the revocation stamps from them
 * (`users-index.ts`), and revoking one session or capping a user is an ordinary kill.
 */
import type { CheckedStoreOptions } from '../store.js';
import { checkUserId, MAX_USER_AGENT_LENGTH, newHandle, type SessionMeta, type SessionOwner, type SessionUserIndex, type UserSessionInfo } from '../users.js';
import { hashSessionId } from '../id-hash.js';
import { heapOf, ownCopy } from '../stores/memory-bytes.js';
import { FACT_BYTES, RECORD_BYTES, REPLICA_BINDING_BYTES } from './record-bytes.js';
import type { Op } from './messages.js';
import { isLive, type BindingWire, type ReplicaState, type SessionRecord } from './records.js';
import { checkId, hashOf, notCaughtUp } from './types.js';

/** What the per-user API uses of the store it is part of (`store.ts`). */
export interface StoreCore {
  readonly state: ReplicaState;
  readonly options: CheckedStoreOptions;
  /** The time now; throws 503 when the store is not running. */
  ready(): number;
  /** A catch-up is under way: `settled()` first, else `ready()` (no extra turn when caught up). */
  readonly behind: boolean;
  /** `ready()`, after a catch-up under way (503 if not done within the barrier timeout). */
  settled(): Promise<number>;
  /** The record of a hashed id, after ending it if its time is up. */
  find(h: string, now: number): SessionRecord | undefined;
  /** Like `find`, but an unknown id first waits for edits in flight. */
  lookup(h: string): Promise<SessionRecord | undefined>;
  /** The record a write goes to (undefined: a new session); throws as every write does. */
  writable(h: string, now: number, bytes: number): SessionRecord | undefined;
  /** Make room for a write made here (the byte budget, the session cap), or throw `NOVA_ERR_SESSION_STORE_FULL`. */
  reserve(growth: number, fresh: boolean, keep: string | undefined): void;
  times(record: SessionRecord | undefined, now: number): [number, number];
  /** Wait for edits in flight; false when this node could not confirm it is caught up. */
  barrier(): Promise<boolean>;
  /** Apply here and publish; resolves when the transport acknowledged. */
  issue(op: Op): Promise<void>;
  /** Apply kills here and publish them; resolves once every live peer applied them (kills.ts). */
  kill(...ops: Op[]): Promise<void>;
  stamp(): [number, string];
}

// A copy, not a slice: a slice of a request header or body keeps the whole of it alive.
function clip(value: unknown, length: number): string | null {
  return typeof value === 'string' ? ownCopy(value.slice(0, length)) : null;
}

/**
 * @example
 * ```ts
 * const users = new UserSessions(store);
 * const handle = await users.bindUser(id, 'ada', { userAgent });
 * ```
 */
export class UserSessions implements SessionUserIndex {
  constructor(private readonly core: StoreCore) {}

  async bindUser(id: string, userId: string, meta: SessionMeta): Promise<string> {
    const now = this.core.behind ? await this.core.settled() : this.core.ready();
    checkId(id);
    checkUserId(userId);
    const h = hashSessionId(id);
    const record = this.core.writable(h, now, 0);
    const userAgent = clip(meta?.userAgent, MAX_USER_AGENT_LENGTH);
    const ip = clip(meta?.ip, MAX_USER_AGENT_LENGTH);
    const grows = REPLICA_BINDING_BYTES + FACT_BYTES + 2 * heapOf(userId) + heapOf(userAgent ?? undefined) + heapOf(ip ?? undefined);
    this.core.reserve((record === undefined ? RECORD_BYTES : 0) + grows, record === undefined, h);
    const handle = newHandle();
    const [t, n] = this.core.stamp();
    const binding: BindingWire = [ownCopy(userId), handle, t, userAgent, ip, t, n];
    const bound = this.core.issue(['b', h, binding, ...this.core.times(record, now)]);
    // capUser is async so that a throw in it (the lease can run out between two calls in one turn)
    // rejects like the publish does: a throw here would leave `bound` unhandled, and its rejection
    // (the transport down) would end the process.
    await Promise.all([bound, this.capUser(userId, h)]);
    return handle;
  }

  async userOf(id: string): Promise<SessionOwner | undefined> {
    const record = await this.core.lookup(hashOf(id));
    if (record === undefined || !isLive(record) || record.binding === undefined) return undefined;
    return { userId: record.binding[0], handle: record.binding[1] };
  }

  async listUserSessions(userId: string): Promise<UserSessionInfo[]> {
    if (this.core.behind) await this.core.settled();
    else this.core.ready();
    if (typeof userId !== 'string') return [];
    // Read your writes: a login just made on another node is listed; a list that may miss one is an error.
    if (!(await this.core.barrier())) throw notCaughtUp();
    return this.liveOf(userId).map((r) => ({
      handle: r.binding![1],
      createdAt: r.created,
      lastSeenAt: r.lastSeen,
      userAgent: r.binding![3] ?? undefined,
      ip: r.binding![4] ?? undefined,
    }));
  }

  async revokeUserSession(userId: string, handle: string): Promise<boolean> {
    if (this.core.behind) await this.core.settled();
    else this.core.ready();
    if (typeof userId !== 'string' || typeof handle !== 'string') return false;
    const withHandle = () => this.liveOf(userId).filter((r) => r.binding![1] === handle);
    let targets = withHandle();
    if (targets.length === 0) {
      const confirmed = await this.core.barrier();
      targets = withHandle();
      if (targets.length === 0 && !confirmed) throw notCaughtUp(); // "no such session" would be a guess
    }
    if (targets.length === 0) return false;
    // A session rotated twice at once (a race) lives on under two ids with one handle: end both.
    await this.core.kill(...targets.map((r): Op => ['k', r.id, ...this.core.stamp(), r.created]));
    return true;
  }

  async revokeUserSessions(userId: string, exceptHandle?: string): Promise<number> {
    this.core.ready();
    checkUserId(userId);
    await this.core.barrier(); // unconfirmed, the count may be short; the stamp below still covers every session
    const except = typeof exceptHandle === 'string' ? exceptHandle : '';
    const ending = this.liveOf(userId).filter((r) => r.binding![1] !== except).length;
    // The stamp, not a list of kills: every node ends what it covers, including sessions only it
    // knows and binds still in flight (see users-index.ts).
    const [t, n] = this.core.stamp();
    await this.core.kill(['x', userId, except, t, n]);
    return ending;
  }

  /** The user's live sessions here, oldest first, after ending those whose time is up. */
  private liveOf(userId: string): SessionRecord[] {
    const now = this.core.ready();
    return this.core.state.users
      .live(userId)
      .filter((r) => (this.core.find(r.id, now), isLive(r)))
      .sort((a, b) => a.created - b.created || a.binding![2] - b.binding![2]);
  }

  /** Binding one more session than `maxSessionsPerUser` ends the user's oldest (not `bound`). */
  private async capUser(userId: string, bound: string): Promise<unknown> {
    const live = this.liveOf(userId);
    const excess = live.length - this.core.options.maxSessionsPerUser;
    if (excess <= 0) return Promise.resolve();
    const oldest = live.filter((r) => r.id !== bound).slice(0, excess);
    return this.core.kill(...oldest.map((r): Op => ['k', r.id, ...this.core.stamp(), r.created]));
  }

  // ---- local edits ----
}
