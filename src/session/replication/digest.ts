/**
 * Digests of a node's replicated state, for catch-up by difference (`catchup.ts`): two nodes
 * compare a summary per bucket of ids and send each other only the records of the buckets that
 * differ, instead of their whole state.
 *
 * - Each record (and each user's revocation stamps) has a hash of its replicated content in a
 *   canonical form: sorted keys and facts, times only while live, never node-local fields such as
 *   `diedAt`. Two nodes that converged hash every record alike.
 * - A bucket's digest is the XOR of its members' hashes, so it does not depend on the order things
 *   were inserted in, and a change costs one rehash: the old hash is XORed out, the new one in.
 * - Buckets are kept at the finest level (2^16, by the first bits of the id, which is already a
 *   SHA-256 on the bus); an exchange folds them to as many buckets as the state size calls for.
 * - Hashes are cached: the state reports every record it changes (`ReplicaState.changed`), and only
 *   those are rehashed, in slices, when a digest is next asked for.
 */
import { createHash, hash as digestOf } from 'node:crypto';
import { isLive, toWire, type RecordWire, type ReplicaState, type SessionRecord } from './records.js';
import { processSlices } from './slices.js';
import type { RevocationWire } from './users-index.js';

/** Finest bucket level: 65,536 buckets of 8 bytes (512 KiB per node). */
export const FINE_BITS = 16;
const HASH_BYTES = 8;
/** Cache keys of revocation entries start with a character no hashed id (base64url) has. */
const USER = '~';
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

interface Entry {
  /** Finest bucket. */
  bucket: number;
  /**
   * 8 bytes as a latin1 string: one small heap string per entry, where a Buffer (and a Hash object
   * to make it) costs the garbage collector a native handle and a backing store each.
   */
  hash: string;
}

/** Finest bucket of a hashed id (its first 16 bits); anything else goes by a hash of it. */
function bucketOf(key: string): number {
  if (!key.startsWith(USER) && key.length >= 3) {
    const a = BASE64URL.indexOf(key[0]!);
    const b = BASE64URL.indexOf(key[1]!);
    const c = BASE64URL.indexOf(key[2]!);
    if (a >= 0 && b >= 0 && c >= 0) return ((a << 12) | (b << 6) | c) >> 2;
  }
  return createHash('sha256').update(key).digest().readUInt16BE(0);
}

const short = (text: string): string => digestOf('sha1', text, 'binary').slice(0, HASH_BYTES);

/** The replicated content of a record, canonical, so converged nodes agree byte for byte. */
function recordHash(r: SessionRecord): string {
  const live = isLive(r);
  const fields = r.killed ? [] : [...r.fields].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, f]) => [k, f.text, f.t, f.n]);
  const facts = r.facts.map((f) => JSON.stringify(f)).sort();
  const text = JSON.stringify([r.id, r.killed ? 1 : 0, [...(r.movedTo ?? [])].sort(), fields, live ? [r.created, r.lastSeen] : [], r.binding ?? null, facts]);
  return short(text);
}

function revocationHash(userId: string, pair: readonly RevocationWire[]): string {
  const sorted = pair.map((r) => JSON.stringify(r)).sort();
  return short(JSON.stringify([USER, userId, sorted]));
}

function xorInto(target: Buffer, offset: number, hash: string): void {
  for (let i = 0; i < HASH_BYTES; i++) target[offset + i]! ^= hash.charCodeAt(i);
}

/** Bucket count (as bits) for an exchange over `size` entries: about 8 records per bucket. */
export function bitsFor(size: number): number {
  return Math.min(FINE_BITS, Math.max(4, Math.ceil(Math.log2(Math.max(1, size) / 8))));
}

/** A set of buckets, as a bitmap in base64 (2^bits bits). */
export function bitmap(buckets: Iterable<number>, bits: number): string {
  const out = Buffer.alloc(Math.ceil((1 << bits) / 8));
  for (const b of buckets) out[b >> 3]! |= 1 << (b & 7);
  return out.toString('base64');
}

/** The buckets a bitmap names; undefined when it does not fit `bits`. */
export function bucketsOf(map: string, bits: number): number[] | undefined {
  const bytes = Buffer.from(map, 'base64');
  if (bits < 0 || bits > FINE_BITS || bytes.length !== Math.ceil((1 << bits) / 8)) return undefined;
  const out: number[] = [];
  for (let b = 0; b < 1 << bits; b++) if ((bytes[b >> 3]! & (1 << (b & 7))) !== 0) out.push(b);
  return out;
}

/**
 * @example
 * ```ts
 * const digests = new DigestIndex(state);
 * await digests.refresh();                          // rehash what changed since last time
 * const mine = digests.digest(12);                  // 4096 buckets × 8 bytes
 * const differ = digests.differing(12, theirs);     // bucket numbers
 * for (const record of digests.recordsIn(12, differ)) send(record);
 * ```
 */
export class DigestIndex {
  private readonly sums = Buffer.alloc((1 << FINE_BITS) * HASH_BYTES);
  private readonly entries = new Map<string, Entry>();
  private readonly members: (Set<string> | undefined)[] = new Array<Set<string> | undefined>(1 << FINE_BITS);
  private readonly dirty = new Set<string>();
  private refreshing: Promise<void> | undefined;
  private soon: NodeJS.Timeout | undefined;
  /** Records and revocation entries rehashed so far (tests: caching works). */
  rehashed = 0;

  constructor(private readonly state: ReplicaState) {
    state.changed = (id) => this.mark(id);
    state.revocations.changed = (userId) => this.mark(USER + userId);
    for (const id of state.records.keys()) this.dirty.add(id);
  }

  /** Records plus users with revocations, as the digests count them. */
  get size(): number {
    return this.state.records.size + this.state.revocations.size;
  }

  /** True when this node holds nothing at all (a full transfer is cheaper than digests). */
  get empty(): boolean {
    return this.size === 0;
  }

  private mark(key: string): void {
    this.dirty.add(key);
    // Rehashed in the background a moment later, so a catch-up (after a restart of the engine,
    // when every node asks at once) finds the digests ready instead of hashing the whole state.
    // This also bounds the set: keys of forgotten records stay here until rehashed.
    this.soon ??= setTimeout(() => {
      this.soon = undefined;
      void this.refresh();
    }, 1000).unref();
  }

  /** Rehash everything that changed, in slices; resolves with nothing left to rehash. */
  refresh(): Promise<void> {
    // Assigned before the work can finish: `finally` runs on a later microtask.
    this.refreshing ??= this.rehashDirty().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async rehashDirty(): Promise<void> {
    const slices = processSlices;
    while (this.dirty.size > 0) {
      let n = 0;
      for (const key of this.dirty) {
        this.dirty.delete(key);
        this.rehash(key);
        if ((++n & 63) === 0 && slices.due()) break;
      }
      if (this.dirty.size > 0) await slices.pause();
    }
  }

  /** What is left, synchronously: after `refresh()` resolves this is nothing or next to it. */
  private settle(): void {
    for (const key of this.dirty) {
      this.dirty.delete(key);
      this.rehash(key);
    }
  }

  private rehash(key: string): void {
    this.rehashed++;
    const old = this.entries.get(key);
    let hash: string | undefined;
    if (key.startsWith(USER)) {
      const userId = key.slice(USER.length);
      const pair = this.state.revocations.of(userId);
      if (pair.length > 0) hash = revocationHash(userId, pair);
    } else {
      const record = this.state.records.get(key);
      if (record !== undefined) hash = recordHash(record);
    }
    if (old !== undefined) {
      if (hash === old.hash) return;
      xorInto(this.sums, old.bucket * HASH_BYTES, old.hash);
    }
    if (hash === undefined) {
      if (old !== undefined) {
        this.entries.delete(key);
        this.members[old.bucket]?.delete(key);
      }
      return;
    }
    const bucket = old?.bucket ?? bucketOf(key);
    xorInto(this.sums, bucket * HASH_BYTES, hash);
    if (old !== undefined) old.hash = hash;
    else {
      this.entries.set(key, { bucket, hash });
      (this.members[bucket] ??= new Set()).add(key);
    }
  }

  /** The digest of each of 2^bits buckets, 8 bytes each. Call after `refresh()`. */
  digest(bits: number): Buffer {
    this.settle();
    // Folded a 32-bit word at a time (XOR does not care about byte order): a few hundred
    // microseconds for the 65,536 finest buckets, where byte by byte took milliseconds unsliced.
    const out = new Uint32Array((1 << bits) * 2);
    const sums = new Uint32Array(this.sums.buffer, this.sums.byteOffset, this.sums.length / 4);
    const shift = FINE_BITS - bits;
    for (let fine = 0; fine < 1 << FINE_BITS; fine++) {
      const at = (fine >> shift) * 2;
      out[at]! ^= sums[fine * 2]!;
      out[at + 1]! ^= sums[fine * 2 + 1]!;
    }
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  }

  /** The digest of the whole state (one bucket), base64. */
  root(): string {
    return this.digest(0).toString('base64');
  }

  /** Buckets whose digest differs from `theirs` (a peer's `digest(bits)`); undefined if malformed. */
  differing(bits: number, theirs: Buffer): number[] | undefined {
    const mine = this.digest(bits);
    if (theirs.length !== mine.length) return undefined;
    const out: number[] = [];
    for (let b = 0; b < 1 << bits; b++) {
      for (let i = b * HASH_BYTES; i < (b + 1) * HASH_BYTES; i++) {
        if (mine[i] !== theirs[i]) {
          out.push(b);
          break;
        }
      }
    }
    return out;
  }

  /**
   * The second level: each entry of the given buckets as its cache key and its 8-byte hash (same
   * order). A peer compares the hashes with its own and both send only the entries that differ,
   * not every entry of a bucket that differs.
   */
  entriesIn(bits: number, buckets: readonly number[]): { keys: string[]; hashes: string[] } {
    this.settle();
    const keys = this.keysIn(bits, buckets);
    return { keys, hashes: keys.map((key) => this.entries.get(key)!.hash) };
  }

  /** How many entries a bucket holds (to cut the second level into messages). */
  countIn(bits: number, bucket: number): number {
    const shift = FINE_BITS - bits;
    let n = 0;
    for (let fine = bucket << shift; fine < (bucket + 1) << shift; fine++) n += this.members[fine]?.size ?? 0;
    return n;
  }

  /** The revocation stamps this node holds in the given buckets. */
  revocationsIn(bits: number, buckets: readonly number[]): RevocationWire[] {
    this.settle();
    const out: RevocationWire[] = [];
    for (const key of this.keysIn(bits, buckets)) {
      if (key.startsWith(USER)) for (const r of this.state.revocations.of(key.slice(USER.length))) out.push([...r]);
    }
    return out;
  }

  /**
   * The records this node holds in the given buckets, in the state-transfer format, lazily (the
   * sender cuts them into messages and pauses between them): live ones, tombstones, then rotated
   * ids, so a rotation's target is usually known before the rotation lands (any order converges).
   */
  *recordsIn(bits: number, buckets: readonly number[]): Generator<RecordWire> {
    this.settle();
    for (const pass of [0, 1, 2]) {
      for (const key of this.keysIn(bits, buckets)) {
        const record = key.startsWith(USER) ? undefined : this.state.records.get(key);
        if (record === undefined) continue;
        if ((isLive(record) ? 0 : record.killed ? 1 : 2) === pass) yield toWire(record);
      }
    }
  }

  private keysIn(bits: number, buckets: readonly number[]): string[] {
    const shift = FINE_BITS - bits;
    const out: string[] = [];
    for (const b of buckets) {
      for (let fine = b << shift; fine < (b + 1) << shift; fine++) for (const key of this.members[fine] ?? []) out.push(key);
    }
    return out;
  }

  /** The cache keys an edit touched: record ids as they are, users with the revocation prefix. */
  static userKey(userId: string): string {
    return USER + userId;
  }

  /** The revocation stamps this node holds under some cache keys (see `userKey`). */
  revocationsOf(keys: Iterable<string>): RevocationWire[] {
    const out: RevocationWire[] = [];
    for (const key of keys) if (key.startsWith(USER)) for (const r of this.state.revocations.of(key.slice(USER.length))) out.push([...r]);
    return out;
  }

  /** The records this node holds under some cache keys, lazily, in the order of `recordsIn`. */
  *recordsOf(keys: readonly string[]): Generator<RecordWire> {
    for (const pass of [0, 1, 2]) {
      for (const key of keys) {
        const record = key.startsWith(USER) ? undefined : this.state.records.get(key);
        if (record !== undefined && (isLive(record) ? 0 : record.killed ? 1 : 2) === pass) yield toWire(record);
      }
    }
  }
}

/** Entry hashes from the wire (8 bytes each, concatenated, base64); undefined if malformed. */
export function hashList(base64: string): string[] | undefined {
  const data = Buffer.from(base64, 'base64');
  if (data.length % HASH_BYTES !== 0) return undefined;
  const out: string[] = [];
  for (let at = 0; at < data.length; at += HASH_BYTES) out.push(data.toString('latin1', at, at + HASH_BYTES));
  return out;
}

/** The inverse of `hashList`. */
export function hashData(list: readonly string[]): string {
  return Buffer.from(list.join(''), 'latin1').toString('base64');
}
