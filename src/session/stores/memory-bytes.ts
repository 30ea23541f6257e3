/**
 * What the memory store counts against `maxStoreBytes`: an estimate of the V8 heap each thing it
 * holds takes, kept as a running total (every operation adds or subtracts its own part, so the
 * total is never recomputed by a scan). Measured on Node 20, 64-bit, with 100,000 sessions
 * (`node --expose-gc`, heap after GC divided by count); rounded up, so the estimate errs high.
 */

/**
 * One id in the store, live or a tombstone: the entry object, its id string, its map slot and its
 * queue slots. Measured 229 bytes for a live session holding one short value, its key and text
 * included, and 236 once read after the touch interval (2026-11-30, over 100,000 sessions; 293 and
 * 301 while the entry held its times as boxed doubles, its own heap estimate and byte count, an
 * `alive` flag and a slot for a second key's array, and a session tied to no user had a queue slot
 * of its own); the bench's figure adds a request's leftovers and the verified-cookie cache.
 */
export const ENTRY_BYTES = 320;
/** One key of a session, beyond its key and text strings (the pair of slots in the entry or its array; measured ~64). */
export const FIELD_BYTES = 64;
/** A session's tie to a user: the binding object, its handle, its place in the user's list (measured ~124). */
export const BINDING_BYTES = 128;
/** One user in the per-user index: the record, its map slot, its sessions array (measured ~337). */
export const USER_BYTES = 352;

/**
 * The heap a string of `length` characters takes when its UTF-8 form is `utf8` bytes. V8 keeps a
 * string in one byte per character only when every character is Latin-1; UTF-8 equal to length
 * proves that (ASCII), else two bytes per character are assumed, which is never an underestimate.
 *
 * @example
 * ```ts
 * stringBytes('alice'.length, 5); // 24
 * stringBytes('日本'.length, 6);   // 24 (16 + 2 × 2, rounded to 8)
 * ```
 */
export function stringBytes(length: number, utf8: number): number {
  const payload = utf8 === length ? length : 2 * length;
  return (16 + payload + 7) & ~7;
}

/** `stringBytes` for a string whose UTF-8 length is not known yet (short ones: user ids, agents, addresses). */
export function heapOf(s: string | undefined): number {
  return s === undefined ? 0 : stringBytes(s.length, Buffer.byteLength(s, 'utf8'));
}

/**
 * A copy of `s` that shares no memory with another string. A string cut from a bigger one (a
 * form field parsed out of a request body, `userAgent.slice(0, 256)`) is, in V8, a slice that
 * keeps the whole original alive: a 256-character user id parsed from a 60 KB body pinned the
 * 60 KB for as long as the session lived, twice what the budget counted. Used on the short
 * strings the store keeps from its callers (keys, user ids, user agents, addresses); values are
 * copied anyway, as JSON text.
 *
 * @example
 * ```ts
 * const userId = ownCopy(params.username); // no longer keeps the request body alive
 * ```
 */
export function ownCopy<T extends string | undefined>(s: T): T {
  return (s === undefined ? s : JSON.parse(JSON.stringify(s))) as T;
}

/**
 * One copy of each short string that many sessions hold alike — key names, user agents — instead
 * of one per session (`ownCopy` on every write made each session carry its own "username", 24
 * bytes). Bounded: past `limit` distinct strings the table starts over, so a flood of made-up user
 * agents costs at most `limit` strings and cannot stop later ones from being shared. The budget
 * still counts every holder's copy, so it errs high, as it should.
 *
 * @example
 * ```ts
 * const shared = new SharedStrings();
 * entry.key = shared.get(key); // the same string for every session's "username"
 * ```
 */
export class SharedStrings {
  #table = new Map<string, string>();

  constructor(private readonly limit = 4096) {}

  /** A copy of `s` that shares no memory with a request (as `ownCopy`), the same one each time. */
  get<T extends string | undefined>(s: T): T {
    if (s === undefined) return s;
    let kept = this.#table.get(s);
    if (kept === undefined) {
      if (this.#table.size >= this.limit) this.#table = new Map();
      kept = ownCopy(s as string);
      // Keyed by the copy: the caller's string may be a slice that keeps a request body alive.
      this.#table.set(kept, kept);
    }
    return kept as T;
  }
}
