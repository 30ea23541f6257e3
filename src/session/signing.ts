/**
 * The session cookie's value: `<id>.<mac>`, where `mac` is base64url HMAC-SHA256 over the id.
 * New values are signed with the first secret; every secret in the list verifies, so secrets can
 * rotate (put the new one first, keep the old one until old cookies have expired).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { errors } from '../errors.js';
import { SESSION_ID_LENGTH, isWellFormedId } from './id.js';

/** Length of the base64url HMAC-SHA256 (32 bytes, unpadded). */
const MAC_LENGTH = 43;
/** `<id>.<mac>`: the only length `verify` looks at further. */
export const SIGNED_VALUE_LENGTH = SESSION_ID_LENGTH + 1 + MAC_LENGTH;
/** Same bar as @fastify/session: a secret shorter than this is refused at configuration time. */
export const MIN_SECRET_BYTES = 32;

// Both halves are 32 bytes in canonical base64url (see id.ts): a MAC spelled with different
// trailing bits would decode to the same bytes, so the text, not the decoded bytes, is compared.
const SIGNED_PATTERN = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]\.[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/**
 * Secrets checked and copied once, so `verify` (run on every request) does no preparation.
 * The keys stay raw bytes: OpenSSL sets a key up on every `createHmac` either way, and measured on
 * Node 20 an HMAC over a Buffer key takes ~7 µs against ~10 µs over a KeyObject.
 */
export interface SessionSecrets {
  readonly keys: readonly Buffer[];
}

/**
 * Check a list of secrets and prepare their HMAC keys. The first signs; all verify.
 * Throws `NOVA_ERR_CONFIG` on an empty list or a secret shorter than 32 bytes.
 *
 * @example
 * ```ts
 * const secrets = sessionSecrets([process.env.SESSION_SECRET!, process.env.OLD_SESSION_SECRET!]);
 * const cookieValue = sign(generateSessionId(), secrets);
 * ```
 */
export function sessionSecrets(list: readonly (string | Buffer)[]): SessionSecrets {
  if (!Array.isArray(list) || list.length === 0) {
    throw errors.config('session.secrets', 'give at least one secret (the first signs, all verify)');
  }
  const keys = list.map((secret, i) => {
    if (typeof secret !== 'string' && !Buffer.isBuffer(secret)) {
      throw errors.config(`session.secrets[${i}]`, 'a secret must be a string or a Buffer');
    }
    const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
    if (bytes.length < MIN_SECRET_BYTES) {
      throw errors.config(`session.secrets[${i}]`, `a secret must be at least ${MIN_SECRET_BYTES} bytes long`);
    }
    return Buffer.from(bytes);
  });
  return Object.freeze({ keys: Object.freeze(keys) });
}

// Plain arrays are prepared once and remembered; the copy of the list detects later edits to it.
const prepared = new WeakMap<readonly (string | Buffer)[], { list: (string | Buffer)[]; secrets: SessionSecrets }>();

function keysOf(secrets: SessionSecrets | readonly (string | Buffer)[]): readonly Buffer[] {
  if (!Array.isArray(secrets)) return (secrets as SessionSecrets).keys;
  const list = secrets as readonly (string | Buffer)[];
  const cached = prepared.get(list);
  if (cached && cached.list.length === list.length && cached.list.every((s, i) => s === list[i])) {
    return cached.secrets.keys;
  }
  const fresh = sessionSecrets(list);
  prepared.set(list, { list: [...list], secrets: fresh });
  return fresh.keys;
}

function mac(key: Buffer, id: string): string {
  return createHmac('sha256', key).update(id, 'latin1').digest('base64url');
}

/**
 * HMAC-SHA256 of `message` under each secret, in order: the first is the one to hand out, and a
 * value matching any of them is genuine (secret rotation). For values other than the cookie that
 * only the server can make, such as CSRF tokens; `message` starts with a label of its own, so
 * such a MAC never equals the cookie's, which covers the bare id.
 *
 * @example
 * ```ts
 * const [current] = macsOf(`csrf\n${id}`, secrets);
 * ```
 */
export function macsOf(message: string, secrets: SessionSecrets | readonly (string | Buffer)[]): Buffer[] {
  return keysOf(secrets).map((key) => createHmac('sha256', key).update(message, 'utf8').digest());
}

/**
 * The cookie value for `id`: `<id>.<mac>`, signed with the first secret.
 * Throws `NOVA_ERR_SESSION_ID_INVALID` unless `id` came from `generateSessionId()`.
 *
 * @example
 * ```ts
 * const value = sign(generateSessionId(), ['a secret of at least thirty-two bytes!!']);
 * ```
 */
export function sign(id: string, secrets: SessionSecrets | readonly (string | Buffer)[]): string {
  if (!isWellFormedId(id)) throw errors.sessionIdInvalid('only ids from generateSessionId() can be signed');
  const first = keysOf(secrets)[0] as Buffer;
  return `${id}.${mac(first, id)}`;
}

/**
 * The session id inside a signed cookie value, or `undefined` when the value is not exactly
 * `<id>.<mac>` with a MAC from one of the secrets. Shape is checked before any HMAC work, and
 * MACs are compared in constant time over their full length.
 *
 * @example
 * ```ts
 * const id = verify(cookies.session_id, secrets);
 * if (id === undefined) { // missing, malformed, tampered or signed with an unknown secret
 *   // treat as no cookie: mint a fresh id, never adopt the client's value
 * }
 * ```
 */
export function verify(value: unknown, secrets: SessionSecrets | readonly (string | Buffer)[]): string | undefined {
  if (typeof value !== 'string' || value.length !== SIGNED_VALUE_LENGTH || !SIGNED_PATTERN.test(value)) {
    return undefined;
  }
  const id = value.slice(0, SESSION_ID_LENGTH);
  const given = Buffer.from(value.slice(SESSION_ID_LENGTH + 1), 'latin1');
  for (const key of keysOf(secrets)) {
    // Both buffers are exactly MAC_LENGTH bytes: the pattern above fixed the given one's length.
    if (timingSafeEqual(Buffer.from(mac(key, id), 'latin1'), given)) return id;
  }
  return undefined;
}
