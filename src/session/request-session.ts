import type { FlashState } from './flash.js';
import type { SessionManager } from './manager.js';
import type { SessionOwner } from './users.js';

/**
 * The session state of one request, kept on `ctx.session` by the session cookie step.
 * Read and write it through the session API, not directly.
 */
export interface RequestSession {
  /** The session id this request uses (changes on `regenerate`). */
  id: string;
  /** True while the id was minted for this request and nothing has been written under it. */
  fresh: boolean;
  /** True when the store may hold data under `id` (false until a first write to a minted id). */
  stored: boolean;
  /** What the response does with the session cookie: nothing, set it to `id`, or expire it. */
  cookie: 'keep' | 'send' | 'expire';
  /** True once the response carries something tied to the session (a CSRF token): never shared-cached. */
  bound: boolean;
  /**
   * True once this request read a stored session (one its verified cookie named, or one written
   * earlier in the request) or wrote to the session: the response depends on the visitor, so it
   * is kept out of shared caches and varies by `Cookie`. A fresh visitor's empty session is never
   * read from the store, so it does not count.
   */
  used: boolean;
  /** The request came with a session cookie that failed verification (reported as an event at the end). */
  invalidCookie: boolean;
  /** The user this session is tied to, looked up once per request. */
  owner: Promise<SessionOwner | undefined> | undefined;
  /** This request's flash messages (see `flash`). */
  flash: FlashState | undefined;
  /** The app's session manager, which the session API calls. */
  readonly manager: SessionManager;
}
