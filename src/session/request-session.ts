import type { SessionManager } from './manager.js';

/**
 * The session state of one request, kept on `ctx.session` by the session cookie step.
 * Read and write it through the session API, not directly.
 */
export interface RequestSession {
  /** The session id this request uses (changes on `regenerate`). */
  id: string;
  /** True while the id was minted for this request and nothing has been written under it. */
  fresh: boolean;
  /** True once a `Set-Cookie` for `id` has been added to the response. */
  cookieSent: boolean;
  /** The app's session manager, which the session API calls. */
  readonly manager: SessionManager;
}
