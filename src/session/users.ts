/**
 * Sessions per user: the part of the store contract that ties a session to a user id, lists that
 * user's live sessions and revokes them (DESIGN.md "Ending sessions"). Every built-in store
 * implements it; a store of your own that does not still works for everything else, and the first
 * call that needs it fails with `NOVA_ERR_SESSION_STORE_FEATURE` naming the method to write.
 */
import { randomBytes } from 'node:crypto';
import { errors } from '../errors.js';
import type { Json } from '../results/result.js';
import type { SessionStore } from './store.js';

/** What is recorded about a session when it is tied to a user (shown in "your sessions" lists). */
export interface SessionMeta {
  /** The `User-Agent` the login came with, cut to 256 characters. */
  userAgent?: string | undefined;
  /** The client address; recorded only when `session.recordClientAddress` is on. */
  ip?: string | undefined;
}

/** One live session of a user, as `listUserSessions` returns it. Times are ms since the epoch. */
export interface UserSessionInfo {
  /**
   * Opaque and random: not the cookie's id, not the key the store uses, not the hashed id of
   * session events, and no way to compute any of them. Stays the same across `rotate`.
   */
  handle: string;
  createdAt: number;
  lastSeenAt: number;
  userAgent: string | undefined;
  ip: string | undefined;
}

/** Which user a session is tied to, and the session's handle. */
export interface SessionOwner {
  userId: string;
  handle: string;
}

/**
 * The per-user index, maintained by the store itself so that expired, logged-out and revoked
 * sessions leave it on their own and listing costs in proportion to one user's sessions.
 *
 * Rules (checked by the conformance suite in `nova-ts/testing`):
 *
 * - `bindUser` is a write: it creates the session if nothing was stored yet, throws
 *   `NOVA_ERR_SESSION_GONE` on a dead id (the manager then moves to a fresh id), and gives the
 *   session a new random handle. Binding again (to the same or another user) replaces the binding.
 *   The binding, its handle and its time survive `rotate`.
 * - A user holds at most `maxSessionsPerUser` live sessions; binding one more revokes the oldest
 *   (by creation time) first.
 * - `revokeUserSessions(userId, exceptHandle)` ends every session of the user but the excepted one
 *   and raises the user's revocation stamp to now: any session of that user bound before the stamp
 *   reads as gone from then on, on every read, even one the index did not list (a login in flight,
 *   or a node that missed the revoke). The excepted session counts as bound at the stamp.
 * - A handle revokes only a session of the user who asks: another user's handle, an unknown one or
 *   a dead session's answers `false` and changes nothing.
 * - Deleting, rotating away, expiring or revoking a session takes it off the index.
 */
export interface SessionUserIndex {
  /** Tie session `id` to `userId`; returns the session's new handle. */
  bindUser(id: string, userId: string, meta: SessionMeta): Promise<string>;
  /** The user and handle of a live session, or `undefined` when it has none or is not live. */
  userOf(id: string): Promise<SessionOwner | undefined>;
  /** The user's live sessions, oldest first. */
  listUserSessions(userId: string): Promise<UserSessionInfo[]>;
  /** End the session with this handle if it is a live session of `userId`. True when one ended. */
  revokeUserSession(userId: string, handle: string): Promise<boolean>;
  /** End all of the user's sessions but `exceptHandle`'s, and raise the stamp. Returns how many ended. */
  revokeUserSessions(userId: string, exceptHandle?: string): Promise<number>;
}

/**
 * Read a key and delete it in one atomic step (flash messages): of two concurrent takes, exactly
 * one gets the value. An unknown or dead id answers `undefined` and records nothing. A take is use
 * of the session (it slides the idle timeout like a read).
 */
export interface SessionTake {
  takeValue(id: string, key: string): Promise<Json | undefined>;
}

type Feature = keyof SessionUserIndex | keyof SessionTake;

const PURPOSE: Record<Feature, string> = {
  bindUser: 'sessions per user',
  userOf: 'sessions per user',
  listUserSessions: 'sessions per user',
  revokeUserSession: 'sessions per user',
  revokeUserSessions: 'sessions per user',
  takeValue: 'flash messages',
};

/**
 * The store, narrowed to one optional method, or `NOVA_ERR_SESSION_STORE_FEATURE` naming what the
 * store lacks.
 *
 * @example
 * ```ts
 * const list = await withFeature(store, 'listUserSessions').listUserSessions('ada');
 * ```
 */
export function withFeature<F extends Feature>(store: SessionStore, feature: F): SessionStore & Required<Pick<SessionUserIndex & SessionTake, F>> {
  if (typeof (store as unknown as Record<string, unknown>)[feature] !== 'function') {
    throw errors.sessionStoreFeature(store.name, feature, PURPOSE[feature]);
  }
  return store as SessionStore & Required<Pick<SessionUserIndex & SessionTake, F>>;
}

/** Longest user id accepted: ids are keys in every store. */
export const MAX_USER_ID_LENGTH = 256;
/** Longest user agent kept; longer ones are cut. */
export const MAX_USER_AGENT_LENGTH = 256;

/**
 * Check a user id (a non-empty string of at most 256 characters); throws `NOVA_ERR_SESSION_USER`.
 *
 * @example
 * ```ts
 * async bindUser(id, userId, meta) { checkUserId(userId); … }
 * ```
 */
export function checkUserId(userId: unknown): asserts userId is string {
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > MAX_USER_ID_LENGTH) {
    throw errors.sessionUser(`a user id must be a string of 1 to ${MAX_USER_ID_LENGTH} characters`);
  }
}

/**
 * A new random handle: 16 bytes, base64url. Random rather than derived from the id, so nothing
 * can turn one into the other.
 *
 * @example
 * ```ts
 * const handle = newHandle(); // e.g. 'Xn3y…' (22 chars)
 * ```
 */
export function newHandle(): string {
  return randomBytes(16).toString('base64url');
}
