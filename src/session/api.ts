import type { Context } from '../context.js';
import { errors } from '../errors.js';
import type { Json } from '../results/result.js';
import { generateSessionId as newId } from './id.js';
import type { SessionManager } from './manager.js';
import type { SessionGetter, SessionKey, SessionSetter } from './session-data.js';
import * as users from './user-sessions.js';

function manager(ctx: Context): SessionManager {
  if (ctx.session === undefined) throw errors.sessionsDisabled();
  return ctx.session.manager;
}

/**
 * Nova's session API (`nova_session`), for the session of the request in `ctx`. Every visitor has a
 * session by the time a plugin, security function or controller runs.
 *
 * | Nova | Nova.ts |
 * |---|---|
 * | `get(Req, K) -> {ok, V} \| {error, not_found}` | `await session.get(ctx, k)` → the value, or `undefined` |
 * | `set(Req, K, V) -> ok` | `await session.set(ctx, k, v)` |
 * | `delete(Req) -> {ok, Req1}` | `await session.delete(ctx)` (the cookie change is already on the response) |
 * | `delete(Req, K) -> {ok, Req1}` | `await session.delete(ctx, k)` |
 * | `generate_session_id() -> {ok, Id}` | `session.generateSessionId()` |
 * | `rotate/1` (unreleased) | `await session.regenerate(ctx)` |
 *
 * Keys and values are typed by the app's `SessionData` declaration (see `session-data.ts`).
 * Beyond Nova: sessions per user — `bindUser` at login, then `list`, `revoke`, `revokeOthers`,
 * `revokeAll` — on every store and every node.
 *
 * @example
 * ```ts
 * import { session, redirect, view } from 'nova-ts';
 *
 * async function loginPost(ctx: Context) {
 *   await session.regenerate(ctx);              // new id at login: no session fixation
 *   await session.set(ctx, 'username', ctx.authData.username);
 *   return redirect('/');
 * }
 * ```
 */
export const session = {
  /** The value under `key`, or `undefined` when the key or the session does not exist. */
  get: ((ctx: Context, key: string) => manager(ctx).get(ctx, key)) as SessionGetter<Context>,

  /** Store a JSON value under `key`; creates the session on its first write. */
  set: ((ctx: Context, key: string, value: Json) => manager(ctx).set(ctx, key, value)) as SessionSetter<Context>,

  /** With a key: delete that key. Without: delete the whole session server side and expire the cookie. */
  delete(ctx: Context, key?: SessionKey): Promise<void> {
    const m = manager(ctx);
    return key === undefined ? m.deleteSession(ctx) : m.deleteKey(ctx, key);
  },

  /** Move the session's data to a new id, delete the old one, send the new cookie. Returns the new id. */
  regenerate(ctx: Context): Promise<string> {
    return manager(ctx).regenerate(ctx);
  },

  /** The id of this request's session. */
  id(ctx: Context): string {
    const s = ctx.session;
    if (s === undefined) throw errors.sessionsDisabled();
    // The id of a stored session in a page makes the page the visitor's own (see `used`).
    if (s.stored) s.used = true;
    return s.id;
  },

  /**
   * Make `id` (from `generateSessionId`, with data written through the store directly) this
   * request's session and send its signed cookie — Nova's `set_resp_cookie(<<"session_id">>, Id, …)`.
   */
  adopt(ctx: Context, id: string): void {
    manager(ctx).adopt(ctx, id);
  },

  /** A new session id: 32 random bytes, base64url. */
  generateSessionId(): string {
    return newId();
  },

  /**
   * Tie this session to `userId` (at login, after `regenerate`): it then appears in the user's
   * `list`, can be revoked, and counts toward `maxSessionsPerUser`. Survives `regenerate`.
   * Records the login's user agent, and its address when `recordClientAddress` is on. Returns
   * the session's handle.
   */
  bindUser(ctx: Context, userId: string): Promise<string> {
    return users.bindUser(ctx, userId);
  },

  /** The user this session is tied to, or `undefined`. */
  user(ctx: Context): Promise<string | undefined> {
    return users.userOf(ctx);
  },

  /** The live sessions of this session's user, oldest first, the current one marked; `[]` without a user. */
  list(ctx: Context): Promise<users.UserSession[]> {
    return users.list(ctx);
  },

  /** End the user's session with this handle (from `list`); false when it is not one of theirs. */
  revoke(ctx: Context, handle: string): Promise<boolean> {
    return users.revoke(ctx, handle);
  },

  /** End all of the user's sessions but this one ("log out my other devices"). Returns how many ended. */
  revokeOthers(ctx: Context): Promise<number> {
    return users.revokeOthers(ctx);
  },

  /** End all of the user's sessions, this one included, and expire this cookie. Returns how many ended. */
  revokeAll(ctx: Context): Promise<number> {
    return users.revokeAll(ctx);
  },

  /** The app's session store, for direct access (Nova's `nova_session_ets:set_value/3`). */
  store(ctx: Context) {
    return manager(ctx).store;
  },
};
