/**
 * The replicated session state, as a structure that converges: every node that has applied the
 * same edits, in any order and any number of times, holds the same sessions. The rules:
 *
 * - each key is last-writer-wins by stamp (a deleted key keeps its stamp, as a null text);
 * - a killed session (delete, expiry) is dead for good: edits that arrive later are dropped,
 *   whatever their stamp, so a late write never resurrects a logout;
 * - a rotated session's id is dead, and everything addressed to it — the keys it held, and edits
 *   still in flight from nodes that had not yet seen the rotation — lands on the new id, as it
 *   would in a single store where the late write came after the rotation; a kill addressed to the
 *   old id ends the new one too (a logout racing a login wins);
 * - `created` only moves earlier and `lastSeen` only later, so every node agrees on both deadlines;
 * - a session's binding to a user is last-writer-wins by stamp, travels with rotations like a
 *   key, and every bind leaves a fact that revocations are checked against (`users-index.ts`).
 *
 * Every rule is a merge of grow-only facts (larger stamps, kill flags, rotation targets), so the
 * order messages arrive in cannot change the result.
 */
import { TimeQueue } from '../stores/time-queue.js';
import { compareStamps, type Stamp } from './hlc.js';
import { fieldBytes, metaBytes, RECORD_BYTES } from './record-bytes.js';
import { addFact, Revocations, UserIndex, type FactWire, type RevocationWire } from './users-index.js';

/** One key's latest edit. `text === null` is a deleted key, kept so an older write cannot undo it. */
export interface FieldState extends Stamp {
  text: string | null;
}

/** One session id's state. Live unless `killed` or `movedTo` is set (never both: a kill clears `movedTo`). */
export interface SessionRecord {
  readonly id: string;
  created: number;
  lastSeen: number;
  /** When this node learned the session was dead (the tombstone's age); 0 while live. Local only. */
  diedAt: number;
  /** Kept after a rotation, so a second rotation of the same id (a race) gets the same keys. */
  fields: Map<string, FieldState>;
  killed: boolean;
  movedTo: string[] | undefined;
  /** UTF-8 bytes of live keys and texts, as `entryBytes` counts them. */
  bytes: number;
  /** The user it is tied to now (the bind with the largest stamp). */
  binding: BindingWire | undefined;
  /** What every bind it ever had tells revocations (see `users-index.ts`). */
  facts: FactWire[];
  /** The heap its keys, binding and facts take, estimated (`record-bytes.ts`). Local only. */
  heap: number;
}

/** A session's tie to a user: `[userId, handle, boundAt, userAgent, ip, t, n]`; boundAt is a clock reading. */
export type BindingWire = [userId: string, handle: string, boundAt: number, userAgent: string | null, ip: string | null, t: number, n: string];

/** A field on the wire: `[key, text, t, n]`. */
export type FieldWire = [key: string, text: string | null, t: number, n: string];
/** A session in a state transfer: `[id, created, lastSeen, fields, killed, movedTo, binding, facts]`. */
export type RecordWire = [
  id: string,
  created: number,
  lastSeen: number,
  fields: FieldWire[],
  killed: 0 | 1,
  movedTo: string[],
  binding: BindingWire | null,
  facts: FactWire[],
];

export function isLive(record: SessionRecord): boolean {
  return !record.killed && record.movedTo === undefined;
}

export function toWire(r: SessionRecord): RecordWire {
  const fields = [...r.fields].map(([key, f]): FieldWire => [key, f.text, f.t, f.n]);
  return [
    r.id,
    r.created,
    r.lastSeen,
    fields,
    r.killed ? 1 : 0,
    r.movedTo ?? [],
    r.binding === undefined ? null : [...r.binding],
    r.facts.map((f): FactWire => [...f]),
  ];
}

/** Only legitimate nodes send touches, for sessions that exist; this only bounds a backlog. */
const EARLY_TOUCHES = 10_000;

const factOf = (b: BindingWire): FactWire => [b[0], b[2], b[1]];

function entrySize(key: string, text: string | null): number {
  return text === null ? 0 : Buffer.byteLength(key, 'utf8') + Buffer.byteLength(text, 'utf8');
}

/**
 * The sessions one node knows, live and dead.
 *
 * @example
 * ```ts
 * const state = new ReplicaState(() => Date.now());
 * state.set('id1', 'user', '"ada"', { t: 1, n: 'a' }, now, now);
 * state.set('id1', 'user', '"bob"', { t: 2, n: 'b' }, now, now); // the later stamp wins
 * state.kill('id1', now);                                         // final
 * state.set('id1', 'user', '"eve"', { t: 9, n: 'c' }, now, now);  // dropped
 * ```
 */
export class ReplicaState {
  readonly records = new Map<string, SessionRecord>();
  /** Live sessions, the number `maxSessions` limits. */
  live = 0;
  /**
   * The heap the records take, estimated as they change (`record-bytes.ts`): the number
   * `maxStoreBytes` limits. Grows with every edit, local or not; only local ones are refused.
   */
  bytes = 0;
  /**
   * Records in the order this node first heard of them, for evicting the oldest session tied to
   * no user; slots of records bound, ended or forgotten since are skipped (`anonymous()`).
   */
  readonly arrivals = new TimeQueue<SessionRecord>();
  /** Touches that arrived before their session did (see `touch`). */
  private readonly early = new Map<string, number>();
  readonly users = new UserIndex();
  readonly revocations = new Revocations();
  /**
   * Told the id of every record whose replicated content may have changed (or that was forgotten),
   * so the catch-up digests (`digest.ts`) rehash only those.
   */
  changed: (id: string) => void = () => {};

  constructor(private readonly now: () => number) {}

  get(id: string): SessionRecord | undefined {
    return this.records.get(id);
  }

  /** Apply a key's edit (`text === null` deletes the key), following rotations. */
  set(id: string, key: string, text: string | null, stamp: Stamp, created: number, lastSeen: number, depth = 0): void {
    const record = this.record(id, created, lastSeen);
    if (record.killed) return;
    this.times(record, created, lastSeen);
    const old = record.fields.get(key);
    if (old === undefined || compareStamps(old, stamp) < 0) {
      record.bytes += entrySize(key, text) - (old === undefined ? 0 : entrySize(key, old.text));
      this.grow(record, fieldBytes(key, text) - (old === undefined ? 0 : fieldBytes(key, old.text)));
      record.fields.set(key, { text, t: stamp.t, n: stamp.n });
      this.changed(id);
    }
    if (record.movedTo !== undefined && depth < 64) {
      for (const next of record.movedTo) this.set(next, key, text, stamp, created, lastSeen, depth + 1);
    }
  }

  /** End a session for good, and the sessions it was rotated to. An unknown id gets a tombstone. */
  kill(id: string, created: number, depth = 0): void {
    let record = this.records.get(id);
    if (record === undefined) {
      record = {
        id,
        created,
        lastSeen: created,
        diedAt: this.now(),
        fields: new Map(),
        killed: true,
        movedTo: undefined,
        bytes: 0,
        binding: undefined,
        facts: [],
        heap: 0,
      };
      this.records.set(id, record);
      this.bytes += RECORD_BYTES;
      this.changed(id);
      return;
    }
    if (record.killed) return;
    this.changed(id);
    if (isLive(record)) this.died(record);
    this.users.remove(record);
    record.killed = true;
    record.fields.clear(); // nothing can read or move them any more
    record.bytes = 0;
    record.binding = undefined;
    record.facts = [];
    this.grow(record, -record.heap); // the record stays, as a tombstone
    const movedTo = record.movedTo;
    record.movedTo = undefined; // a dead end now: whatever reaches it is dropped
    if (movedTo !== undefined && depth < 64) for (const next of movedTo) this.kill(next, created, depth + 1);
  }

  /** `oldId`'s keys (the rotating node's view plus anything else known here) move to `newId`. */
  rotate(
    oldId: string,
    newId: string,
    fields: readonly FieldWire[],
    created: number,
    lastSeen: number,
    binding: BindingWire | null = null,
    facts: readonly FactWire[] = [],
    depth = 0,
  ): void {
    // Ids are fresh when rotated to, so a rotation that closes a loop (X→Y, Y→X) can only come
    // from a broken node; following it would never end.
    if (this.reaches(newId, oldId)) return;
    const old = this.record(oldId, created, lastSeen);
    if (!old.killed) this.absorb(old, binding, facts, created, lastSeen, depth + 1);
    if (old.killed) return this.kill(newId, old.created, depth + 1);
    this.times(old, created, lastSeen);
    for (const [key, text, t, n] of fields) this.set(oldId, key, text, { t, n }, created, lastSeen, depth + 1);
    const target = this.record(newId, old.created, old.lastSeen);
    this.times(target, old.created, old.lastSeen);
    if (old.movedTo?.includes(newId)) return;
    if (isLive(old)) this.died(old);
    (old.movedTo ??= []).push(newId);
    this.changed(oldId);
    this.users.file(old, false);
    for (const [key, f] of old.fields) this.set(newId, key, f.text, f, old.created, old.lastSeen, depth + 1);
    this.absorb(target, old.binding ?? null, old.facts, old.created, old.lastSeen, depth + 1);
  }

  /**
   * Tie a session to a user (last writer wins; the fact stays whatever wins), following
   * rotations, and end it if a revocation already known covers the bind.
   */
  bind(id: string, binding: BindingWire, created: number, lastSeen: number, depth = 0): void {
    const record = this.record(id, created, lastSeen);
    if (record.killed) return;
    this.times(record, created, lastSeen);
    this.absorb(record, binding, [], created, lastSeen, depth);
  }

  /** A user's revoke-all: raise the user's stamp and end every session it covers, live or rotated away. */
  revoke(revocation: RevocationWire): void {
    if (!this.revocations.add(revocation)) return;
    for (const record of this.users.bound(revocation[0])) this.check(record);
  }

  /** Merge a binding and facts into a record, and on to where it moved. */
  private absorb(record: SessionRecord, binding: BindingWire | null, facts: readonly FactWire[], created: number, lastSeen: number, depth: number): void {
    if (record.killed) return;
    const before = metaBytes(record);
    let changed = false;
    if (binding !== null) {
      const ours = record.binding;
      if (ours === undefined || compareStamps({ t: ours[5], n: ours[6] }, { t: binding[5], n: binding[6] }) < 0) {
        record.binding = [...binding];
        changed = true;
      }
      changed = addFact(record.facts, factOf(binding)) || changed;
    }
    for (const fact of facts) changed = addFact(record.facts, [...fact]) || changed;
    if (!changed) return;
    this.grow(record, metaBytes(record) - before);
    this.changed(record.id);
    this.users.file(record, isLive(record));
    if (record.movedTo !== undefined && depth < 64) {
      for (const next of record.movedTo) {
        const target = this.records.get(next) ?? this.record(next, created, lastSeen);
        this.absorb(target, binding, facts, created, lastSeen, depth + 1);
      }
    }
    this.check(record);
  }

  /** End a record (and where it moved) if a known revocation covers one of its facts. */
  private check(record: SessionRecord): void {
    if (!record.killed && record.facts.some((f) => this.revocations.kills(f))) this.kill(record.id, record.created);
  }

  /**
   * Only moves `lastSeen` later (and on to where the session moved). A touch can overtake the edit that
   * created the session here (another node created it, a third read it); it waits, bounded, for
   * that edit, or the nodes would disagree on when the session goes idle.
   */
  touch(id: string, lastSeen: number): void {
    const record = this.records.get(id);
    if (record === undefined) {
      if (this.early.size >= EARLY_TOUCHES) this.early.delete(this.early.keys().next().value!);
      this.early.set(id, Math.max(lastSeen, this.early.get(id) ?? 0));
    } else {
      this.times(record, record.created, lastSeen);
    }
  }

  /** Forget a tombstone for good (its time is up). */
  drop(id: string): void {
    const record = this.records.get(id);
    if (record !== undefined && isLive(record)) this.live--;
    if (record !== undefined) {
      this.users.remove(record);
      this.bytes -= RECORD_BYTES + record.heap;
    }
    this.records.delete(id);
    this.changed(id);
  }

  /** True for a live record tied to no user, still held: one `arrivals` may evict. */
  anonymous(record: SessionRecord): boolean {
    return isLive(record) && record.binding === undefined && this.records.get(record.id) === record;
  }

  /** Count `delta` more bytes for `record`. */
  private grow(record: SessionRecord, delta: number): void {
    record.heap += delta;
    this.bytes += delta;
  }

  /**
   * Tombstones are bounded like live sessions, as in the memory store: a login/logout loop would
   * otherwise grow every node for a whole absolute timeout. Past `max` the ones first in the index
   * go (roughly the oldest); a late edit to such an id can then only create a session holding that
   * edit, never bring old data back.
   */
  capTombstones(max: number): void {
    let excess = this.records.size - this.live - max;
    for (const record of this.records.values()) {
      if (excess <= 0) return;
      if (!isLive(record)) this.drop(record.id), excess--;
    }
  }

  /**
   * Every record, in the state-transfer format: live ones first, then tombstones, then rotated
   * ids newest first, so a receiver already knows a rotation's target when the rotation arrives,
   * even when the transfer is split into several messages.
   */
  *wire(): Generator<RecordWire> {
    const moved: SessionRecord[] = [];
    for (const r of this.records.values()) if (isLive(r)) yield toWire(r);
    for (const r of this.records.values()) if (r.killed) yield toWire(r);
    for (const r of this.records.values()) if (r.movedTo !== undefined) moved.push(r);
    for (let i = moved.length - 1; i >= 0; i--) yield toWire(moved[i]!);
  }

  /** Merge a record from a peer's state transfer. */
  mergeWire([id, created, lastSeen, fields, killed, movedTo, binding, facts]: RecordWire): void {
    if (killed === 1) return this.kill(id, created);
    const record = this.record(id, created, lastSeen);
    this.times(record, created, lastSeen);
    for (const [key, text, t, n] of fields) this.set(id, key, text, { t, n }, created, lastSeen);
    this.absorb(record, binding, facts, created, lastSeen, 0);
    for (const next of movedTo) this.rotate(id, next, [], created, lastSeen);
  }

  private record(id: string, created: number, lastSeen: number): SessionRecord {
    let record = this.records.get(id);
    if (record === undefined) {
      const touched = this.early.get(id);
      if (touched !== undefined) this.early.delete(id);
      record = {
        id,
        created,
        lastSeen: Math.max(lastSeen, touched ?? 0),
        diedAt: 0,
        fields: new Map(),
        killed: false,
        movedTo: undefined,
        bytes: 0,
        binding: undefined,
        facts: [],
        heap: 0,
      };
      this.records.set(id, record);
      this.live++;
      this.bytes += RECORD_BYTES;
      this.arrivals.push(record, this.now());
      this.changed(id);
    }
    return record;
  }

  /** True when `to` is `from` or can be reached from it through rotations. */
  private reaches(from: string, to: string): boolean {
    const seen = new Set<string>();
    const stack = [from];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (id === to) return true;
      if (seen.has(id)) continue;
      seen.add(id);
      for (const next of this.records.get(id)?.movedTo ?? []) stack.push(next);
    }
    return false;
  }

  private died(record: SessionRecord): void {
    this.live--;
    record.diedAt = this.now();
  }

  /**
   * `created` only moves earlier and `lastSeen` only later, and a rotated id passes both on to
   * where it moved: use of the old id counts as use of the session, whichever order the
   * rotation and that use arrive in.
   */
  private times(record: SessionRecord, created: number, lastSeen: number, depth = 0): void {
    if (record.killed) return;
    let changed = false;
    if (created < record.created) {
      record.created = created;
      changed = true;
    }
    if (lastSeen > record.lastSeen) {
      record.lastSeen = lastSeen;
      changed = true;
    }
    if (changed) this.changed(record.id);
    if (changed && record.movedTo !== undefined && depth < 64) {
      for (const next of record.movedTo) {
        const target = this.records.get(next);
        if (target !== undefined) this.times(target, record.created, record.lastSeen, depth + 1);
      }
    }
  }
}
