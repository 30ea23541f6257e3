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
  // Tie the session to the user first, so it shows in their list of sessions and can be revoked:
  // were the username written first and the binding to fail, a logged-in session would escape
  // "sign out everywhere".
  await session.bindUser(ctx, ctx.authData.username);
  await session.set(ctx, 'username', ctx.authData.username);
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
