/**
 * Sessions per user, for the request in hand: tie this session to a user at login, list the
 * user's sessions with this one marked, revoke one, the others, or all. The store keeps the index
 * (`users.ts`); this module adds what only the request knows: which session is the current one,
 * the login's user agent and address, the cookie change, and the events.
 */
import type { Context } from '../context.js';
import { errors } from '../errors.js';
import type { SessionManager } from './manager.js';
import { checkUserId, MAX_USER_AGENT_LENGTH, withFeature, type SessionMeta, type SessionOwner } from './users.js';

/** One of the user's live sessions, as `session.list` returns it. */
export interface UserSession {
  /** Opaque; pass it to `session.revoke`. Safe to put in a page or a URL: it opens nothing. */
  handle: string;
  /** True for the session of the request that asked. */
  current: boolean;
  createdAt: Date;
  lastSeenAt: Date;
  userAgent: string | undefined;
  /** Only when `session.recordClientAddress` is on. */
  ip: string | undefined;
}

function manager(ctx: Context): SessionManager {
  if (ctx.session === undefined) throw errors.sessionsDisabled();
  return ctx.session.manager;
}

export async function bindUser(ctx: Context, userId: string): Promise<string> {
  checkUserId(userId);
  const m = manager(ctx);
  const store = withFeature(m.store, 'bindUser');
  const agent = ctx.headers['user-agent'];
  const meta: SessionMeta = {
    userAgent: typeof agent === 'string' && agent !== '' ? agent.slice(0, MAX_USER_AGENT_LENGTH) : undefined,
    ip: m.recordClientAddress ? ctx.clientAddress : undefined,
  };
  const handle = await m.write(ctx, (id) => store.bindUser(id, userId, meta));
  m.forgetOwner(ctx, { userId, handle });
  return handle;
}

/** The current session's owner, or NOVA_ERR_SESSION_USER: the per-user calls act for a logged-in user. */
async function requireOwner(ctx: Context, call: string): Promise<SessionOwner> {
  const owner = await manager(ctx).owner(ctx);
  if (owner === undefined) throw errors.sessionUser(`${call}() needs a session tied to a user (call session.bindUser at login)`);
  return owner;
}

export async function userOf(ctx: Context): Promise<string | undefined> {
  return (await manager(ctx).owner(ctx))?.userId;
}

export async function list(ctx: Context): Promise<UserSession[]> {
  const m = manager(ctx);
  const owner = await m.owner(ctx);
  if (owner === undefined) return [];
  const sessions = await withFeature(m.store, 'listUserSessions').listUserSessions(owner.userId);
  return sessions.map((s) => ({
    handle: s.handle,
    current: s.handle === owner.handle,
    createdAt: new Date(s.createdAt),
    lastSeenAt: new Date(s.lastSeenAt),
    userAgent: s.userAgent,
    ip: s.ip,
  }));
}

export async function revoke(ctx: Context, handle: string): Promise<boolean> {
  const m = manager(ctx);
  const owner = await requireOwner(ctx, 'revoke');
  if (typeof handle !== 'string' || handle === '') return false;
  const done = await withFeature(m.store, 'revokeUserSession').revokeUserSession(owner.userId, handle);
  if (done) {
    m.emit(ctx, 'revoked', { userId: owner.userId, count: 1, scope: 'one' });
    // Revoking the session in hand is a logout: its cookie goes too.
    if (handle === owner.handle) m.forgetSession(ctx);
  }
  return done;
}

export async function revokeOthers(ctx: Context): Promise<number> {
  const m = manager(ctx);
  const owner = await requireOwner(ctx, 'revokeOthers');
  const count = await withFeature(m.store, 'revokeUserSessions').revokeUserSessions(owner.userId, owner.handle);
  m.emit(ctx, 'revoked', { userId: owner.userId, count, scope: 'others' });
  return count;
}

export async function revokeAll(ctx: Context): Promise<number> {
  const m = manager(ctx);
  const owner = await requireOwner(ctx, 'revokeAll');
  const count = await withFeature(m.store, 'revokeUserSessions').revokeUserSessions(owner.userId);
  m.emit(ctx, 'revoked', { userId: owner.userId, count, scope: 'all' });
  m.forgetSession(ctx);
  return count;
}
