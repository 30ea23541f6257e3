// The example's security functions (the spec's my_first_nova_auth).
import { allow, deny, redirect, session, view, type Context } from 'nova-ts';

export interface AuthData {
  authed: true;
  username: string;
}

/** Used for the login POST: the password is `password`, as in the guide. */
export function usernamePassword(ctx: Context) {
  const { username, password } = ctx.params;
  // A user id is at most 256 characters in every session store.
  if (typeof username === 'string' && username.length > 0 && username.length <= 256 && password === 'password') {
    return allow<AuthData>({ authed: true, username });
  }
  // The guide's second login_post/1 clause cannot run behind a denying security function;
  // a denial that renders the login page says the same thing.
  return deny({ result: view({ error: 'Invalid username or password' }, { view: 'login', status: 401 }) });
}

/** Used for pages that need an active session; visitors without one are sent to the login page. */
export async function sessionAuth(ctx: Context) {
  const username = await session.get(ctx, 'username');
  return username === undefined ? redirect('/login') : allow<AuthData>({ authed: true, username });
}
