/**
 * Cookie values that passed HMAC verification recently, mapped to their ids, so a returning
 * visitor's request skips the HMAC (measured at about a fifth of a session read's CPU).
 *
 * Only values that verified are ever stored, and a value's validity depends on nothing but the
 * secrets, which are fixed for the life of the process: there is nothing to invalidate. (Logout
 * and expiry are the store's business; a cached value still finds no session after them.) A
 * lookup is a hash-map probe on the full value, so it reveals nothing about a MAC the asker does
 * not already hold.
 *
 * Memory is bounded by two generations: when the current one fills, it becomes the previous one
 * and the old previous one is dropped. Values seen in either stay cheap. A generation holds as
 * many values as the app allows sessions (`verifiedCookieLimit`): with a fixed 16,384, a server
 * holding 100,000 sessions missed on almost every read, paying the HMAC, two copies and a
 * generation's worth of old-space garbage each time (CPU per read 20.9 µs at 100k sessions against
 * 15.7 µs with every value held, bare node:http 10.5). The cookie a login sends is remembered when
 * it is signed (`remember`), so even the first read of a session skips the HMAC. What is kept is copied
 * first: a cookie value cut from a request's `Cookie` header is, in V8, a slice that keeps the
 * whole header alive, and 32k cached 4 KB headers would hold 128 MB.
 *
 * @example
 * ```ts
 * const cache = new VerifiedCookies(1000);
 * cache.add(cookieValue, id);
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

  get(value: string): string | undefined {
    const id = this.#current.get(value);
    if (id !== undefined) return id;
    const old = this.#previous.get(value);
    if (old !== undefined) this.add(value, old);
    return old;
  }

  /** Remember that `value` verified to `id`; returns the copy of `id` kept, for the caller to use instead. */
  add(value: string, id: string): string {
    if (this.#current.size >= this.#limit) {
      this.#previous = this.#current;
      this.#current = new Map();
    }
    // Only on a miss, once per session and process: the copy costs about as much as one lookup.
    const kept = detach(id);
    this.#current.set(detach(value), kept);
    return kept;
  }

  /**
   * Remember a value this process signed itself for `id`: valid by construction. `id` is kept as
   * given (it is the process's own string, the one the store keys the session by, not a slice of
   * a request header), so the cache adds only the value and its map slot (~130 bytes) per session.
   */
  remember(value: string, id: string): void {
    if (this.#current.size >= this.#limit) {
      this.#previous = this.#current;
      this.#current = new Map();
    }
    this.#current.set(detach(value), id);
  }

  /** Values held, in both generations. */
  get size(): number {
    return this.#current.size + this.#previous.size;
  }
}

/**
 * Values per generation for an app allowing `maxSessions` sessions: all of them fit in one, so a
 * read of a live session never pays the HMAC once its value is known; never below 16,384.
 *
 * @example
 * ```ts
 * const cache = new VerifiedCookies(verifiedCookieLimit(config.session.maxSessions));
 * ```
 */
export function verifiedCookieLimit(maxSessions: number): number {
  return Math.max(16_384, maxSessions);
}

/**
 * A flat copy of `s` that shares no memory with the string it was cut from. Latin-1 is exact here:
 * only values that verified are cached, and those match the signed-value pattern (ASCII).
 */
function detach(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}
