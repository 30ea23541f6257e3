/**
 * The memory store's record of one session id, and how its keys are kept inside it: the layout
 * is chosen for heap per session, which is what limits how many sessions one process holds.
 */
import type { Binding } from './memory-users.js';

/**
 * One id's record. `alive === false` makes it a tombstone: the id is dead and stays dead.
 *
 * @example
 * ```ts
 * const entry = new Entry(id, Date.now(), 'username', '"ada"');
 * entry.die(); // entry.alive === false
 * ```
 */
export class Entry {
  id: string;
  // Times are kept as small integers (`smallInt`), which V8 holds in the entry itself. A time in
  // milliseconds since 1970 is a double, which V8 keeps boxed in an object of its own: 16 more
  // bytes a session for each, and one more memory access for every read that checks expiry.
  // `created` and `lastSeen` put them back together.
  /** Creation time: whole seconds since `BORN_EPOCH` (a small integer from 1952 to 2088)… */
  readonly bornSeconds: number;
  /** …and the milliseconds past that second, 0-999. */
  readonly bornMs: number;
  /**
   * When the session was last seen, in milliseconds after its creation (a small integer for 24
   * days); -1 for a tombstone, which saves every entry a field of its own for that.
   */
  seen: number;
  // Values are kept as JSON text: encoding is needed anyway to check and size them, and
  // JSON.parse on the way out is the cheapest copy. Measured on Node 20 for small values
  // ("alice", {user, roles[2], n}, a 10-item cart): JSON.parse 0.2/0.9/4.6 µs against
  // structuredClone 0.6/3.7/15.6 µs.
  //
  // One key lives in the entry itself, with its text: most sessions hold one, and an array for it
  // would cost every read two more memory fetches (the array and its elements) and every session
  // ~40 bytes of heap. Two or more go in one flat array, in `key` (an array of its own beside it
  // was 8 more bytes in every session).
  /** No key (`undefined`), the one key, or with two or more, all of them with their texts (`Fields`). */
  key: string | Fields | undefined;
  /** The one key's JSON text. */
  text: string | undefined;
  // Everything about the user in one optional object, so a session nobody logged into pays one
  // pointer for the feature, not five fields.
  bound: Binding | undefined = undefined;

  /** A live session created at `at` (the store's clock), holding `key` (or nothing). */
  constructor(id: string, at: number, key: string | undefined, text: string | undefined) {
    this.id = id;
    const seconds = Math.floor((at - BORN_EPOCH) / 1000);
    this.bornSeconds = smallInt(seconds);
    this.bornMs = smallInt(at - BORN_EPOCH - seconds * 1000);
    this.seen = 0;
    this.key = key;
    this.text = text;
  }

  /** False once the session ended: the entry is then a tombstone. */
  get alive(): boolean {
    return this.seen >= 0;
  }

  /** Make it a tombstone: no keys, no user (the caller has taken it off the user index first). */
  die(): void {
    this.key = this.text = undefined;
    this.seen = -1;
  }

  /** A tombstone for `id`, with the creation time of `of` (a rotation leaves one for the old id). */
  static tombstone(id: string, of: Entry): Entry {
    const tomb = new Entry(id, created(of), undefined, undefined);
    tomb.die();
    return tomb;
  }
}

/**
 * Two or more keys and their JSON texts, flat, after their UTF-8 byte total: `[bytes, key1,
 * text1, key2, text2, …]`. Sessions hold a handful of keys, where a scan is as quick as hashing,
 * and a Map costs ~190 bytes of heap against ~50 for this array. `maxSessionBytes` bounds the
 * scan. The total is kept here, not in every entry: recounting it on each write made a write to a
 * session of 3,000 keys ten times slower.
 */
type Fields = [number, ...string[]];

/** The UTF-8 bytes of a key and its text, as `maxSessionBytes` counts them. */
function pairBytes(key: string, text: string): number {
  return Buffer.byteLength(key, 'utf8') + Buffer.byteLength(text, 'utf8');
}

/** 2020-01-01T00:00:00Z, in milliseconds: creation times are counted in seconds from it. */
const BORN_EPOCH = 1_577_836_800_000;

/**
 * `n` as a V8 small integer when it is a whole number in 32-bit range, else `n` itself. Arithmetic
 * on doubles (times since 1970 are) gives a double even when the result is whole, and storing one
 * in an entry field turns that field into a boxed double for every entry (measured: 16 bytes more
 * a session after the first refresh of a last-seen time). Other values stay correct, only boxed.
 */
export function smallInt(n: number): number {
  return n === (n | 0) ? n | 0 : n;
}

/** When `e` was created, in the store's clock. */
export function created(e: Entry): number {
  return BORN_EPOCH + e.bornSeconds * 1000 + e.bornMs;
}

/** When `e` was last seen, in the store's clock. */
export function lastSeen(e: Entry): number {
  return created(e) + e.seen;
}

function fieldIndex(fields: Fields, key: string): number {
  for (let i = 1; i < fields.length; i += 2) if (fields[i] === key) return i;
  return -1;
}

/** The UTF-8 bytes of `e`'s keys and texts, for `maxSessionBytes`. */
export function entryBytes(e: Entry): number {
  const k = e.key;
  if (k === undefined) return 0;
  return typeof k === 'string' ? pairBytes(k, e.text as string) : k[0];
}

/** The JSON text stored under `key`, if any. */
export function readField(e: Entry, key: string): string | undefined {
  const k = e.key;
  if (k === key) return e.text;
  if (typeof k !== 'object') return undefined;
  const i = fieldIndex(k, key);
  return i === -1 ? undefined : (k[i + 1] as string);
}

/** Store `text` under `key`; the caller has checked the size with the old text `readField` gave. */
export function writeField(e: Entry, key: string, text: string): void {
  const k = e.key;
  if (k === undefined || k === key) {
    e.key = key;
    e.text = text;
  } else if (typeof k === 'string') {
    const first = e.text as string;
    e.key = [pairBytes(k, first) + pairBytes(key, text), k, first, key, text];
    e.text = undefined;
  } else {
    const i = fieldIndex(k, key);
    if (i !== -1) {
      k[0] += Buffer.byteLength(text, 'utf8') - Buffer.byteLength(k[i + 1] as string, 'utf8');
      k[i + 1] = text;
    } else {
      k[0] += pairBytes(key, text);
      k.push(key, text);
    }
  }
}

/** Remove `key`; returns its text, if it had one. */
export function removeField(e: Entry, key: string): string | undefined {
  const k = e.key;
  if (k === key) {
    const old = e.text;
    e.key = e.text = undefined;
    return old;
  }
  if (typeof k !== 'object') return undefined;
  const i = fieldIndex(k, key);
  if (i === -1) return undefined;
  const old = k[i + 1] as string;
  k[0] -= pairBytes(key, old);
  k.splice(i, 2);
  if (k.length === 3) {
    // Back to one key: it moves into the entry, and the array goes.
    e.key = k[1];
    e.text = k[2];
  }
  return old;
}

/** Call `visit` with each key of `e` and its JSON text. */
export function eachField(e: Entry, visit: (key: string, text: string) => void): void {
  const k = e.key;
  if (typeof k === 'string') visit(k, e.text as string);
  else if (k !== undefined) for (let i = 1; i < k.length; i += 2) visit(k[i] as string, k[i + 1] as string);
}
