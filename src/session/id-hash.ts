/**
 * The form a session id takes at rest. Durable stores, the replication bus and every replicating
 * node's memory key sessions by this hash, never by the id itself, so a store dump, a `MONITOR`
 * log, a database backup or a captured replication message holds nothing that becomes a working
 * cookie, even together with the signing secret. An id carries 256 random bits, so an unkeyed
 * SHA-256 cannot be reversed or guessed, and it survives secret rotation (a keyed hash would not).
 */
import { createHash } from 'node:crypto';

/**
 * SHA-256 of a session id, base64url (43 characters).
 *
 * @example
 * ```ts
 * const key = hashSessionId(generateSessionId()); // what a store keeps instead of the id
 * ```
 */
export function hashSessionId(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}
