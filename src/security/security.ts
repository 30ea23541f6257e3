import type { Context } from '../context.js';
import type { ControllerResult, Headers, RedirectResult } from '../results/result.js';

/** Let the request through, with `authData` available to the controller as `ctx.authData`. */
// biome-ignore lint/suspicious/noExplicitAny: an Allow typed without auth data carries whatever the security function gave
export interface Allow<A = any> {
  readonly kind: 'allow';
  readonly authData: A;
}

/** Refuse the request. With no body, the registered page for `status` (if any) renders it. */
export interface Deny {
  readonly kind: 'deny';
  readonly status: number;
  readonly headers?: Headers | undefined;
  readonly body?: unknown;
  /** A whole result to answer with instead (for example a rendered login page). */
  readonly result?: ControllerResult | undefined;
}

/**
 * What a security function may return, as in Nova: `true` (allow), `false` (401), `allow(data)`,
 * `deny(...)`, or `redirect(location)`. Anything else is a denial (401), as in Nova.
 */
export type SecurityOutcome = boolean | Allow | Deny | RedirectResult;

/**
 * A route group's security function (Nova's `security => fun M:F/1`).
 *
 * @example
 * ```ts
 * const sessionAuth: SecurityFunction = async (ctx) => {
 *   const username = await session.get(ctx, 'username');
 *   return username === undefined ? false : allow({ authed: true, username });
 * };
 * ```
 */
export type SecurityFunction = (ctx: Context) => SecurityOutcome | Promise<SecurityOutcome> | unknown;

/**
 * Nova's `{true, AuthData}`. The type of `authData` reaches `ctx.authData` in the controllers of
 * a group made with `routeGroup`.
 */
export function allow<A = undefined>(authData?: A): Allow<A> {
  return { kind: 'allow', authData: authData as A };
}

/**
 * The `authData` a security function lets requests through with: the union of its `allow(…)`
 * types, `undefined` for a bare `true`.
 */
export type AuthDataOf<S> = S extends (ctx: never) => infer R ? AllowedBy<Awaited<R>> : undefined;
// A function typed only as `SecurityFunction` (returning `unknown`) says nothing: any auth data.
// biome-ignore lint/suspicious/noExplicitAny: an untyped security function says nothing about its auth data, so any
type AllowedBy<O> = unknown extends O ? any : O extends Allow<infer A> ? A : O extends true ? undefined : never;

/**
 * Nova's `false`, `{false, Headers}`, `{false, Status, Headers}` and `{false, Status, Headers, Body}`,
 * plus a denial that answers with any controller result.
 *
 * @example
 * ```ts
 * return deny();                                              // 401, empty
 * return deny({ status: 403, headers: { 'x-why': 'role' } }); // 403
 * return deny({ status: 401, body: { error: 'unauthorized' } }); // 401 with JSON
 * return deny({ result: view({ error: 'Please log in' }, { view: 'login', status: 401 }) });
 * ```
 */
export function deny(options: { status?: number; headers?: Headers; body?: unknown; result?: ControllerResult } = {}): Deny {
  return { kind: 'deny', status: options.status ?? 401, headers: options.headers, body: options.body, result: options.result };
}

/** The pipeline's reading of a security outcome. */
export type SecurityDecision =
  | { readonly pass: true; readonly authData: unknown }
  | { readonly pass: false; readonly result: ControllerResult; readonly statusPage?: number };

/**
 * Interpret what a security function returned. A throwing function is the caller's to catch: it
 * must answer 500, never let the request through.
 */
export function decide(outcome: unknown): SecurityDecision {
  if (outcome === true) return { pass: true, authData: undefined };
  if (typeof outcome === 'object' && outcome !== null) {
    const o = outcome as { kind?: unknown };
    if (o.kind === 'allow') return { pass: true, authData: (outcome as Allow).authData };
    if (o.kind === 'redirect') return { pass: false, result: outcome as RedirectResult };
    if (o.kind === 'deny') {
      const d = outcome as Deny;
      if (d.result !== undefined) return { pass: false, result: d.result };
      const bare = d.body === undefined;
      return {
        pass: false,
        result: { kind: 'status', status: d.status, headers: d.headers, body: d.body },
        ...(bare ? { statusPage: d.status } : {}),
      };
    }
  }
  return { pass: false, result: { kind: 'status', status: 401 }, statusPage: 401 };
}
