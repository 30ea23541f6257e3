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
  /** What the response does with the session cookie: nothing, set it to `id`, or expire it. */
  cookie: 'keep' | 'send' | 'expire';
  /** True once the response carries something tied to the session (a CSRF token): never shared-cached. */
  bound: boolean;
  /** The app's session manager, which the session API calls. */
  readonly manager: SessionManager;
}
