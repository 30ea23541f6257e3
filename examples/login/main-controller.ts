// The example's controller (the spec's my_first_nova_main_controller), with profile/1.
import { json, redirect, session, status, view, type Context } from 'nova-ts';
import type { AuthData } from './auth.js';

export function index(ctx: Context<AuthData>) {
  return view({ message: `Hello ${ctx.authData.username}` });
}

export function login() {
  return view({}, { view: 'login' });
}

export async function loginPost(ctx: Context<AuthData>) {
  // A new id at login, data kept: whatever id the browser came with is dead (session fixation).
  await session.regenerate(ctx);
  // The binding (listed, revocable) and the username are written together: on a replicated store
  // edits made in one turn travel as one message, so another node sees the whole login or none
  // of it, never a session that is known but not yet logged in.
  try {
    await Promise.all([session.bindUser(ctx, ctx.authData.username), session.set(ctx, 'username', ctx.authData.username)]);
  } catch (err) {
    // Never leave a logged-in session that "sign out everywhere" cannot reach.
    await session.delete(ctx).catch(() => {});
    throw err;
  }
  return redirect('/');
}

export async function logout(ctx: Context) {
  await session.delete(ctx);
  return redirect('/login');
}

export async function profile(ctx: Context) {
  const username = await session.get(ctx, 'username');
  return username === undefined ? status(401) : json({ username });
}
