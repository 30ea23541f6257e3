import { SESSION_ID_LENGTH } from './id.js';
import { SIGNED_VALUE_LENGTH } from './signing.js';

/**
 * Cookie values that passed HMAC verification recently, so a returning visitor's request skips
 * the HMAC (measured at about a fifth of a session read's CPU).
 *
 * Only values that verified are ever held, and a value's validity depends on nothing but the
 * secrets, which are fixed for the life of the process: there is nothing to invalidate. (Logout
 * and expiry are the store's business; a cached value still finds no session after them.)
 *
 * Held as MAC → id, not value → id: the id is the string the store already keys the session by,
 * so a session pays only for its MAC (64 bytes against 104 for the whole value) and a map slot.
 * A lookup is a hash-map probe on the MAC the asker sent, so it reveals nothing about a MAC the
 * asker does not already hold; only after a MAC matched is the value's id compared with the one
 * that MAC was made for, an id the holder of that MAC already has.
 *
 * Memory is bounded by two generations: when the current one fills, it becomes the previous one
 * and the old previous one is dropped. Values seen in either stay cheap. A generation holds as
 * many values as the app allows sessions (`verifiedCookieLimit`): with a fixed 16,384, a server
 * holding 100,000 sessions missed on almost every read, paying the HMAC, two copies and a
 * generation's worth of old-space garbage each time (server CPU per read 20.9 µs at 100,000
 * sessions against 15.7 µs with every value held; bare node:http 10.5). The cookie a login sends
 * is remembered when it is signed (`remember`), so even the first read of a session skips the
 * HMAC. What is kept from a request is copied first: a cookie value cut from a request's `Cookie`
 * header is, in V8, a slice that keeps the whole header alive, and 32k cached 4 KB headers would
 * hold 128 MB.
 *
 * @example
 * ```ts
 * const cache = new VerifiedCookies(1000);
 * cache.add(cookieValue, id); // cookieValue is `${id}.${mac}`, as `sign` makes it
 * cache.get(cookieValue); // id
 * ```
 */
export class VerifiedCookies {
  readonly #limit: number;
  #current = new Map<string, string>();
  #previous = new Map<string, string>();

  /** `limit` values per generation; at most twice that are held. */
  constructor(limit = 16_384) {
    this.#limit = limit;
  }

  /** The id `value` verified to, if it is held. */
  get(value: string): string | undefined {
    if (value.length !== SIGNED_VALUE_LENGTH) return undefined;
    const mac = value.slice(SESSION_ID_LENGTH + 1);
    let id = this.#current.get(mac);
    let promote = false;
    if (id === undefined) {
      id = this.#previous.get(mac);
      if (id === undefined) return undefined;
      promote = true;
    }
    // The same MAC with another id in front is not the value that verified.
    if (value.charCodeAt(SESSION_ID_LENGTH) !== 46 || !value.startsWith(id)) return undefined;
    if (promote) this.#set(detach(mac), id);
    return id;
  }

  /** Remember that `value` verified to `id`; returns the copy of `id` kept, for the caller to use instead. */
  add(value: string, id: string): string {
    // Only on a miss, once per session and process: the copies cost about as much as one lookup.
    const kept = detach(id);
    this.#set(detach(value.slice(SESSION_ID_LENGTH + 1)), kept);
    return kept;
  }

  /**
   * Remember a value this process signed itself for `id`: valid by construction. `id` is kept as
   * given: it is the process's own string, the one the store keys the session by, not a slice of
   * a request header.
   */
  remember(value: string, id: string): void {
    this.#set(detach(value.slice(SESSION_ID_LENGTH + 1)), id);
  }

  /** Values held, in both generations. */
  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  #set(mac: string, id: string): void {
    if (this.#current.size >= this.#limit) {
      this.#previous = this.#current;
      this.#current = new Map();
    }
    this.#current.set(mac, id);
  }
}

/** What one held value costs in a generation, its MAC string and map slot (the id is shared with the store). */
export const VERIFIED_COOKIE_BYTES = 160;

/**
 * Values per generation for an app allowing `maxSessions` sessions: all of them fit in one, so a
 * read of a live session never pays the HMAC once its value is known; never below 16,384. The
 * cache is not in the store's byte budget, so both generations together are kept within a quarter
 * of it (`maxStoreBytes`): a flood of logins under a small heap must not grow it past what the
 * budget promised (docs/sessions.md#memory-budget).
 *
 * @example
 * ```ts
 * const cache = new VerifiedCookies(verifiedCookieLimit(config.session.maxSessions, defaultMaxStoreBytes()));
 * ```
 */
export function verifiedCookieLimit(maxSessions: number, maxStoreBytes = Number.POSITIVE_INFINITY): number {
  const withinBudget = Math.floor(maxStoreBytes / 4 / (2 * VERIFIED_COOKIE_BYTES));
  return Math.max(16_384, Math.min(maxSessions, withinBudget));
}

/**
 * A flat copy of `s` that shares no memory with the string it was cut from. Latin-1 is exact here:
 * only values that verified are cached, and those match the signed-value pattern (ASCII).
 */
function detach(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}
