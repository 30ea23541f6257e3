/**
 * The session state of one request, kept on `ctx.session` by the session cookie step.
 * Read and write it through the session API, not directly.
 */
export interface RequestSession {
  /** The session id this request uses (changes on `regenerate`). */
  id: string;
  /** True when the id was minted for this request (no valid cookie came in). */
  fresh: boolean;
  /** True once a `Set-Cookie` for `id` has been added to the response. */
  cookieSent: boolean;
}
