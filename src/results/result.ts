/**
 * Controller results: the values a controller returns instead of writing to the response.
 * They mirror Nova's return tuples (`{json, Map}`, `{ok, Vars, Opts}`, `{status, S, H, Body}`,
 * `{redirect, Route}`, `{sendfile, …}`); `respond.ts` is the one module that turns them into a reply.
 */

import type { ResolvedStaticOptions } from '../static/static-files.js';
import { encodeRedirectTarget } from './redirect-target.js';

export type Headers = Record<string, string | readonly string[]>;

/** JSON-serialisable data. */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json | undefined };

export interface ViewResult {
  readonly kind: 'view';
  readonly vars: Record<string, unknown>;
  readonly view?: string | undefined;
  readonly status?: number | undefined;
  /** Replaces the default headers (`content-type: text/html`), as Nova's `headers` option does. */
  readonly headers?: Headers | undefined;
}

export interface JsonResult {
  readonly kind: 'json';
  readonly body: unknown;
  readonly status?: number | undefined;
  readonly headers?: Headers | undefined;
}

export interface StatusResult {
  readonly kind: 'status';
  readonly status: number;
  readonly headers?: Headers | undefined;
  /** A string or Buffer is sent as is; anything else is sent as JSON. */
  readonly body?: unknown;
}

export interface RedirectResult {
  readonly kind: 'redirect';
  readonly location: string;
  readonly status: 301 | 302 | 303 | 307 | 308;
}

export interface SendfileResult {
  readonly kind: 'sendfile';
  readonly path: string;
  readonly status?: number | undefined;
  readonly headers?: Headers | undefined;
  readonly mime?: string | undefined;
  readonly offset?: number | undefined;
  readonly length?: number | undefined;
}

/**
 * A file a static route found inside its root (`staticFiles`, `staticFile`): sent with ETag,
 * Last-Modified, ranges and cache headers by `src/static/send-file.ts`.
 */
export interface StaticFileResult {
  readonly kind: 'static-file';
  readonly file: string;
  readonly options: ResolvedStaticOptions;
}

/** A result whose `kind` no built-in handler knows; the fallback controller may resolve it. */
export interface CustomResult {
  readonly kind: string;
  readonly [field: string]: unknown;
}

export type Result = ViewResult | JsonResult | StatusResult | RedirectResult | SendfileResult | StaticFileResult;

/** What a controller may return: a built-in result or a custom one for the fallback controller. */
export type ControllerResult = Result | CustomResult;

export interface ViewOptions {
  view?: string;
  status?: number;
  headers?: Headers;
}

/**
 * Render a view (Nova's `{ok, Vars, Opts}`). The template is the controller's name unless
 * `options.view` names one.
 *
 * @example
 * ```ts
 * const index = (ctx: Context) => view({ message: `Hello ${ctx.authData.username}` });
 * const login = () => view({}, { view: 'login' });
 * ```
 */
export function view(vars: Record<string, unknown> = {}, options: ViewOptions = {}): ViewResult {
  return { kind: 'view', vars, view: options.view, status: options.status, headers: options.headers };
}

/** Nova's name for {@link view}. */
export const ok = view;

/**
 * Send JSON (Nova's `{json, Map}` and `{json, Status, Headers, Map}`). Like Nova, a POST
 * answers 201 unless a status is given.
 *
 * @example
 * ```ts
 * const profile = () => json({ username: 'ada' });
 * const created = () => json({ id: 7 }, { status: 201, headers: { location: '/items/7' } });
 * ```
 */
export function json(body: unknown, options: { status?: number; headers?: Headers } = {}): JsonResult {
  return { kind: 'json', body, status: options.status, headers: options.headers };
}

/**
 * Answer with a status code (Nova's `{status, S}`, `{status, S, H}`, `{status, S, H, Body}`).
 *
 * @example
 * ```ts
 * const heartbeat = () => status(200);
 * const teapot = () => status(418, { headers: { 'x-tea': 'yes' }, body: 'short and stout' });
 * ```
 */
export function status(code: number, options: { headers?: Headers; body?: unknown } = {}): StatusResult {
  return { kind: 'status', status: code, headers: options.headers, body: options.body };
}

/**
 * Redirect (Nova's `{redirect, Route}`): 302 by default; 303 after a form post if you prefer.
 * The target, relative or absolute, is percent-encoded for the `Location` header (non-ASCII and
 * characters a URL may not hold raw; valid `%XX` escapes are kept), and a target with a control
 * character (CR, LF, NUL …) throws `NOVA_ERR_REDIRECT_TARGET` here, where it was made.
 *
 * @example
 * ```ts
 * const logout = () => redirect('/login');
 * const search = (ctx: Context) => redirect(`/search?q=${ctx.params.q}`, { status: 303 }); // "é" goes out as %C3%A9
 * ```
 */
export function redirect(location: string | URL, options: { status?: RedirectResult['status'] } = {}): RedirectResult {
  return { kind: 'redirect', location: encodeRedirectTarget(location instanceof URL ? location.href : location), status: options.status ?? 302 };
}

/**
 * Send a file (Nova's `{sendfile, Status, Headers, {Offset, Length, Path}, Mime}`).
 *
 * @example
 * ```ts
 * const download = () => sendfile('/srv/files/report.pdf', { mime: 'application/pdf' });
 * ```
 */
export function sendfile(path: string, options: { status?: number; headers?: Headers; mime?: string; offset?: number; length?: number } = {}): SendfileResult {
  return { kind: 'sendfile', path, ...options };
}

const builtInKinds = new Set(['view', 'json', 'status', 'redirect', 'sendfile', 'static-file']);

/** True for the results `respond.ts` handles itself. */
export function isBuiltInResult(value: unknown): value is Result {
  return typeof value === 'object' && value !== null && builtInKinds.has((value as { kind?: unknown }).kind as string);
}
