// "Your sessions": the logged-in user's sessions on every device, with "sign out" for one of
// them or for all the others.
import { csrfToken, flash, json, redirect, session, view, type Context } from 'nova-ts';
import type { AuthData } from './auth.js';

function wantsJson(ctx: Context): boolean {
  return /\bapplication\/json\b/i.test(String(ctx.headers.accept ?? ''));
}

export async function list(ctx: Context<AuthData>) {
  const sessions = await session.list(ctx);
  if (wantsJson(ctx)) {
    return json({
      sessions: sessions.map((s) => ({
        handle: s.handle,
        current: s.current,
        createdAt: s.createdAt.toISOString(),
        lastSeenAt: s.lastSeenAt.toISOString(),
        userAgent: s.userAgent ?? null,
      })),
    });
  }
  return view(
    {
      username: ctx.authData.username,
      csrf: csrfToken(ctx),
      sessions: sessions.map((s) => ({
        handle: s.handle,
        current: s.current,
        createdAt: s.createdAt.toISOString(),
        lastSeenAt: s.lastSeenAt.toISOString(),
        userAgent: s.userAgent ?? 'unknown browser',
      })),
    },
    { view: 'sessions' },
  );
}

export async function revokeOthers(ctx: Context<AuthData>) {
  const count = await session.revokeOthers(ctx);
  await flash.put(ctx, 'info', count === 1 ? 'Signed out 1 other session.' : `Signed out ${count} other sessions.`);
  return redirect('/sessions');
}

export async function revokeOne(ctx: Context<AuthData>) {
  const handle = ctx.bindings.handle ?? '';
  const current = (await session.list(ctx)).find((s) => s.current)?.handle === handle;
  const done = await session.revoke(ctx, handle);
  // Revoking the session in hand is a logout: there is no session left to show a flash in.
  if (current && done) return redirect('/login');
  await flash.put(ctx, 'info', done ? 'Signed out that session.' : 'That session was already signed out.');
  return redirect('/sessions');
}
