import type { Context } from '../context.js';
import { errors } from '../errors.js';
import type { Json } from '../results/result.js';
import { generateSessionId as newId } from './id.js';
import type { SessionManager } from './manager.js';

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
  get<T extends Json = Json>(ctx: Context, key: string): Promise<T | undefined> {
    return manager(ctx).get(ctx, key) as Promise<T | undefined>;
  },

  /** Store a JSON value under `key`; creates the session on its first write. */
  set(ctx: Context, key: string, value: Json): Promise<void> {
    return manager(ctx).set(ctx, key, value);
  },

  /** With a key: delete that key. Without: delete the whole session server side and expire the cookie. */
  delete(ctx: Context, key?: string): Promise<void> {
    const m = manager(ctx);
    return key === undefined ? m.deleteSession(ctx) : m.deleteKey(ctx, key);
  },

  /** Move the session's data to a new id, delete the old one, send the new cookie. Returns the new id. */
  regenerate(ctx: Context): Promise<string> {
    return manager(ctx).regenerate(ctx);
  },

  /** The id of this request's session. */
  id(ctx: Context): string {
    if (ctx.session === undefined) throw errors.sessionsDisabled();
    return ctx.session.id;
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

  /** The app's session store, for direct access (Nova's `nova_session_ets:set_value/3`). */
  store(ctx: Context) {
    return manager(ctx).store;
  },
};
