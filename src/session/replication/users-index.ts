/**
 * Sessions per user on a replicating node: which records are tied to which user, and the
 * revocation stamps of revoke-all. Both are derived from replicated facts that only grow, so every
 * node that has seen the same binds and revocations, in any order, kills the same sessions:
 *
 * - a **fact** `[userId, boundAt, handle]` is recorded for every bind a session ever had (a
 *   binding replaced by a later one still counts: kills win, as with a logout racing a login);
 * - a **revocation** `[userId, t, exceptHandle]` ends every session of the user that has a fact
 *   with `boundAt < t` and another handle. The excepted session is spared by that revocation only,
 *   so it counts as bound at the stamp for every later one.
 *
 * Times here are hybrid-clock readings (`hlc.ts`): a bind made after seeing a revoke carries a
 * larger one, and concurrent ones are ordered the same way on every node.
 */
import type { SessionRecord } from './records.js';

/** What one bind tells about a session: `[userId, boundAt, handle]`. */
export type FactWire = [userId: string, boundAt: number, handle: string];
/** One revoke-all: `[userId, t, exceptHandle]` (`''` when nothing is excepted). */
export type RevocationWire = [userId: string, t: number, except: string];

/**
 * Keep, of a set of (time, handle) items, only what the revocation test needs: the first item by
 * `before`, and the first whose handle differs from that one's. Inserting into this pair gives the
 * same pair as inserting into the whole set and summarising, so it merges in any order.
 */
function insertPair<T>(pair: T[], item: T, before: (a: T, b: T) => boolean, handle: (x: T) => string): boolean {
  const [first, second] = pair;
  if (first === undefined) return (pair.push(item), true);
  if (before(item, first)) {
    const next = handle(item) === handle(first) ? second : first;
    pair.length = 0;
    pair.push(item);
    if (next !== undefined) pair.push(next);
    return true;
  }
  if (handle(item) === handle(first) || (second !== undefined && !before(item, second))) return false;
  pair[1] = item;
  return true;
}

const earlierFact = (a: FactWire, b: FactWire) => a[1] < b[1] || (a[1] === b[1] && a[2] < b[2]);
const laterRevocation = (a: RevocationWire, b: RevocationWire) => a[1] > b[1] || (a[1] === b[1] && a[2] > b[2]);

/** Add a fact to a record's facts (at most two per user); true when they changed. */
export function addFact(facts: FactWire[], fact: FactWire): boolean {
  const pair = facts.filter((f) => f[0] === fact[0]);
  if (!insertPair(pair, fact, earlierFact, (f) => f[2])) return false;
  for (let i = facts.length - 1; i >= 0; i--) if (facts[i]![0] === fact[0]) facts.splice(i, 1);
  facts.push(...pair);
  return true;
}

/** The users a record has ever been bound to. */
export function usersOf(record: SessionRecord): Set<string> {
  return new Set(record.facts.map((f) => f[0]));
}

/**
 * Every user's revocations, summarised (see `insertPair`): the latest, and the latest with another
 * exception. A user's entry is forgotten once no session bound before it can still be alive.
 */
export class Revocations {
  private readonly byUser = new Map<string, RevocationWire[]>();
  /** Told every user whose revocations changed or were forgotten (the catch-up digests, `digest.ts`). */
  changed: (userId: string) => void = () => {};

  /** Record a revoke-all; true when it changes what is revoked. */
  add(revocation: RevocationWire): boolean {
    let pair = this.byUser.get(revocation[0]);
    if (pair === undefined) this.byUser.set(revocation[0], (pair = []));
    const added = insertPair(pair, revocation, laterRevocation, (r) => r[2]);
    if (added) this.changed(revocation[0]);
    return added;
  }

  /** One user's summarised revocations (empty when none is known). */
  of(userId: string): readonly RevocationWire[] {
    return this.byUser.get(userId) ?? [];
  }

  /** True when some revocation of `fact`'s user ends a session with that fact. */
  kills([userId, boundAt, handle]: FactWire): boolean {
    const pair = this.byUser.get(userId);
    if (pair === undefined) return false;
    const [top, other] = pair;
    return (boundAt < top![1] && handle !== top![2]) || (other !== undefined && boundAt < other[1]);
  }

  /** Forget users whose latest revocation is older than `before` (a clock reading). */
  forget(before: number): void {
    for (const [user, pair] of this.byUser) {
      if (pair[0]![1] < before) {
        this.byUser.delete(user);
        this.changed(user);
      }
    }
  }

  get size(): number {
    return this.byUser.size;
  }

  *wire(): Generator<RevocationWire> {
    for (const pair of this.byUser.values()) yield* pair.map((r): RevocationWire => [...r]);
  }
}

/**
 * Which records each user has: `bound` (every record, live or rotated away, with a fact for the
 * user: what a revoke-all must reach) and `live` (live records whose current binding is the user:
 * what is listed). Kept exact by `file` after every change and `remove` before a record dies or
 * is forgotten, so listing costs the user's sessions, never a scan.
 */
export class UserIndex {
  private readonly byUser = new Map<string, { live: Set<SessionRecord>; bound: Set<SessionRecord> }>();

  live(userId: string): SessionRecord[] {
    return [...(this.byUser.get(userId)?.live ?? [])];
  }

  bound(userId: string): SessionRecord[] {
    return [...(this.byUser.get(userId)?.bound ?? [])];
  }

  /** File a record under its users after its facts, binding or liveness changed. */
  file(record: SessionRecord, live: boolean): void {
    for (const user of usersOf(record)) {
      let entry = this.byUser.get(user);
      if (entry === undefined) this.byUser.set(user, (entry = { live: new Set(), bound: new Set() }));
      entry.bound.add(record);
      if (live && record.binding?.[0] === user) entry.live.add(record);
      else entry.live.delete(record);
    }
  }

  /** Take a record off every user's lists (it died, or is being forgotten). */
  remove(record: SessionRecord): void {
    for (const user of usersOf(record)) {
      const entry = this.byUser.get(user);
      if (entry === undefined) continue;
      entry.bound.delete(record);
      entry.live.delete(record);
      if (entry.bound.size === 0) this.byUser.delete(user);
    }
  }

  /** Users with at least one record filed (tests: nothing grows without bound). */
  get users(): number {
    return this.byUser.size;
  }
}
