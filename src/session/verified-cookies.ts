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
 * so a session pays only for its MAC (its 32 bytes in a 48-byte string, against 104 for the whole
 * value as text) and a map slot.
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
    const mac = macKey(value);
    if (mac === undefined) return undefined;
    let id = this.#current.get(mac);
    let promote = false;
    if (id === undefined) {
      id = this.#previous.get(mac);
      if (id === undefined) return undefined;
      promote = true;
    }
    // The same MAC with another id in front is not the value that verified.
    if (value.charCodeAt(SESSION_ID_LENGTH) !== 46 || !value.startsWith(id)) return undefined;
    if (promote) this.#set(mac, id);
    return id;
  }

  /** Remember that `value` verified to `id`; returns the copy of `id` kept, for the caller to use instead. */
  add(value: string, id: string): string {
    // Only on a miss, once per session and process: the copies cost about as much as one lookup.
    const kept = detach(id);
    const mac = macKey(value);
    if (mac !== undefined) this.#set(mac, kept);
    return kept;
  }

  /**
   * Remember a value this process signed itself for `id`: valid by construction. `id` is kept as
   * given: it is the process's own string, the one the store keys the session by, not a slice of
   * a request header.
   */
  remember(value: string, id: string): void {
    const mac = macKey(value);
    if (mac !== undefined) this.#set(mac, id);
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

/**
 * What one held value costs in a generation, its MAC key and map slot (the id is shared with the
 * store): measured ~90 bytes, rounded up.
 */
export const VERIFIED_COOKIE_BYTES = 128;

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

/** base64url's alphabet: each character's six bits, -1 for any other character. */
const SEXTETS = new Int8Array(128).fill(-1);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'].entries()) SEXTETS[c.charCodeAt(0)] = i;
const units = new Uint16Array(16);

/**
 * The MAC of `value` (`${id}.${mac}`, 43 base64url characters after the dot) as the key it is held
 * under: its 32 bytes as 16 UTF-16 code units, a 48-byte string where the text took 64, which is
 * most of what the cache costs a session. A fresh flat string, so it keeps no request header
 * alive. `undefined` for anything but canonical base64url (the two bits past the 32 bytes zero,
 * as `sign` writes them): `verify` refuses those, and so must the cache, which would otherwise
 * take a second spelling of a MAC it holds.
 */
function macKey(value: string): string | undefined {
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (let i = SESSION_ID_LENGTH + 1; i < SIGNED_VALUE_LENGTH; i++) {
    const c = value.charCodeAt(i);
    const sextet = c < 128 ? (SEXTETS[c] as number) : -1;
    if (sextet < 0) return undefined;
    acc = (acc << 6) | sextet;
    bits += 6;
    if (bits >= 16) {
      bits -= 16;
      units[n++] = acc >>> bits;
      acc &= (1 << bits) - 1;
    }
  }
  if (acc !== 0) return undefined;
  const u = units;
  // One call with every unit: one flat string, no intermediate ones.
  return String.fromCharCode(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!, u[6]!, u[7]!, u[8]!, u[9]!, u[10]!, u[11]!, u[12]!, u[13]!, u[14]!, u[15]!);
}

/**
 * A flat copy of `s` that shares no memory with the string it was cut from. Latin-1 is exact here:
 * only values that verified are cached, and those match the signed-value pattern (ASCII).
 */
function detach(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}
