/**
 * Session ids: 32 bytes from the operating system's CSPRNG, written as base64url (43 characters).
 * Nova uses `crypto:strong_rand_bytes(32)`; 256 bits is above OWASP ASVS 5's 128-bit floor, and
 * more than express-session and @fastify/session (24 bytes).
 */
import { randomBytes } from 'node:crypto';

const ID_BYTES = 32;
/** Length of a base64url id without padding: ceil(32 * 8 / 6). */
export const SESSION_ID_LENGTH = 43;

// One randomBytes call per 128 ids instead of one per id, as @fastify/session's idGenerator does:
// the syscall, not the copy, dominates the cost of a 32-byte read.
const POOL_IDS = 128;
let pool = Buffer.alloc(0);
let poolOffset = 0;

// 43 base64url characters hold 258 bits, so the last one carries only 4 bits of the id and its two
// low bits are always zero. Allowing only those 16 characters there makes each id's text unique
// (no second spelling of the same bytes).
const ID_PATTERN = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/**
 * A new session id: 32 random bytes from `node:crypto`, base64url, 43 characters.
 *
 * @example
 * ```ts
 * const id = generateSessionId(); // e.g. 'q3N0…' (43 chars)
 * await store.setValue(id, 'username', 'alice');
 * ```
 */
export function generateSessionId(): string {
  if (poolOffset + ID_BYTES > pool.length) {
    pool = randomBytes(ID_BYTES * POOL_IDS);
    poolOffset = 0;
  }
  const id = pool.toString('base64url', poolOffset, poolOffset + ID_BYTES);
  // Wipe the bytes handed out so the pool never holds a copy of a live id.
  pool.fill(0, poolOffset, poolOffset + ID_BYTES);
  poolOffset += ID_BYTES;
  return id;
}

/**
 * True when `value` has the exact shape `generateSessionId()` produces: 43 base64url characters
 * in canonical form. Checked before any store lookup, so a forged value never reaches a backend.
 *
 * @example
 * ```ts
 * isWellFormedId(generateSessionId()); // true
 * isWellFormedId('../../etc/passwd');  // false
 * ```
 */
export function isWellFormedId(value: unknown): value is string {
  return typeof value === 'string' && value.length === SESSION_ID_LENGTH && ID_PATTERN.test(value);
}
