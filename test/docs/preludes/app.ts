// Prelude "app": the names of the app a docs fragment is cut from — its routes, its secrets, a
// request's context, its controllers. Global declarations: a block's own declaration of the same
// name shadows them. Not part of the project's compilation (see tsconfig.json "exclude").
import type { Allow, App, Context, Controller, Member, Route, NovaConfigInput, RouteGroup, SessionEvent, SessionStore, Transport } from 'nova-ts';

// A login's security function: lets the user through with their AuthData, or refuses.
type Login = (ctx: Context) => Promise<Allow<AuthData> | false>;

declare global {
  /** The app, as `createApp` returns it. */
  const app: App;
  /** The app's configuration. */
  const config: NovaConfigInput;
  /** The app's route groups. */
  const routes: RouteGroup[];
  /** `session.secrets`: at least 32 characters each. */
  const secrets: string[];
  /** The request a controller, plugin or security function is given. */
  const ctx: Context;

  /** What the login's security function gives the controllers behind it. */
  interface AuthData {
    authed: true;
    username: string;
  }
  const usernamePassword: Login;
  const sessionAuth: Login;
  const checkPassword: Login;

  // Controllers of the examples.
  const login: Controller;
  const loginPost: Controller;
  const card: Controller;
  const subscribe: Controller;
  const createItem: Controller;
  const send: Controller;
  const notFoundPage: Controller;
  const users: { create: Controller };
  const files: { show: Controller };
  const main: Record<'login' | 'loginPost' | 'profile' | 'index' | 'logout', Controller>;

  /** A rate limit key: the username of a login form. */
  const byUsername: (ctx: Context) => string | undefined;
  /** A session handle, as `session.list` gives them. */
  const handle: string;
  /** A pub/sub member function. */
  const member: Member;
  /** An audit log the app writes session events to. */
  const audit: { write(event: SessionEvent): void };
  /** A store and a transport of your own, as the conformance suites test them. */
  const myStore: (options: { url: string | undefined }) => SessionStore;
  const myTransport: () => Transport;
  const myRedisStore: () => SessionStore;
  /** The routes of one group. */
  const legacyRoutes: Route[];
}
