import type { IncomingHttpHeaders } from 'node:http';
import { parse as parseCookieHeader, serialize as serializeCookie, type SerializeOptions } from 'cookie';
import type { NovaError } from './errors.js';
import { requestHost, type NodeRequest, type NodeResponse } from './node-http.js';
import type { Reply } from './results/reply.js';
import { normalisePath } from './router/request-path.js';
import type { RequestSession } from './session/request-session.js';

/** What a request context needs from the app it belongs to. */
export interface ContextApp {
  readonly trustProxy: boolean;
}

/** The route a request matched, as the pipeline and the view lookup need it. */
export interface MatchedRoute {
  readonly path: string;
  /** The controller's name: the default view name. */
  readonly controllerName: string;
}

/**
 * One object per request, handed to every step: plugins, the security function, the controller.
 * Headers and cookies set on it go out with whatever the controller returns.
 *
 * @example
 * ```ts
 * const show = (ctx: Context) => json({ id: ctx.bindings.id, page: ctx.query.page ?? '1' });
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: a context typed without auth data is the one any controller or plugin receives
export class Context<AuthData = any> {
  /** Node's request: `node:http`'s, or HTTP/2's compatibility request when the app serves TLS. */
  readonly req: NodeRequest;
  readonly res: NodeResponse;
  /** Upper-case, as the client sent it. */
  readonly method: string;
  /**
   * The path the router matched, normalised once: percent-escapes decoded (UTF-8), except those of
   * `/ ? # %` and `$ & + , : ; = @`, which stay encoded in upper-case hex; `//` and a trailing `/`
   * dropped; `.` and `..` resolved; the scheme and host of an absolute-form target removed. So
   * `/%61ny`, `//any/` and `http://evil.example/any` are all `/any`, and a check on `ctx.path` sees
   * what the router saw. Safe to compare, log and check prefixes on.
   */
  readonly path: string;
  /** The request target as the client sent it, up to `?` (with scheme and host for an absolute-form target). */
  readonly rawPath: string;
  /** Why the request target was refused (the pipeline answers 400 before routing); `undefined` for a usable one. */
  readonly pathError: NovaError | undefined;
  /** The raw query string, without `?`. */
  readonly rawQuery: string;
  /** `:name` path bindings. */
  bindings: Record<string, string> = {};
  /** The parsed JSON body (set by the request plugin). */
  json: unknown = undefined;
  /** The parsed urlencoded form body (set by the request plugin). */
  params: Record<string, string | string[]> = {};
  /** What the route group's security function allowed the request with. */
  authData: AuthData = undefined as AuthData;
  /** Set by the correlation-id plugin. */
  correlationId: string | undefined = undefined;
  /** The matched route, once routing has run. */
  route: MatchedRoute | undefined = undefined;
  /** The reply the result handler built; post-request plugins may adjust it. */
  reply: Reply | undefined = undefined;
  /** Session state for this request, set by the session cookie step; use the session API to read it. */
  session: RequestSession | undefined = undefined;
  #query: Record<string, string | string[]> | undefined = undefined;
  #cookies: Record<string, string | undefined> | undefined = undefined;
  #locals: Record<string, unknown> | undefined = undefined;
  readonly #app: ContextApp;

  constructor(req: NodeRequest, res: NodeResponse, app: ContextApp) {
    this.req = req;
    this.res = res;
    this.#app = app;
    this.method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    this.rawPath = q === -1 ? url : url.slice(0, q);
    this.rawQuery = q === -1 ? '' : url.slice(q + 1);
    const path = normalisePath(this.rawPath);
    // A refused target keeps its raw path (for logs and status pages); it never reaches the router.
    this.path = typeof path === 'string' ? path : this.rawPath;
    this.pathError = typeof path === 'string' ? undefined : path;
  }

  get headers(): IncomingHttpHeaders {
    return this.req.headers;
  }

  /** The host the client asked for: `Host`, or HTTP/2's `:authority`. */
  get host(): string | undefined {
    return requestHost(this.req.headers);
  }

  /** The query string as an object; repeated keys become arrays. Parsed on first use. */
  get query(): Record<string, string | string[]> {
    if (this.#query === undefined) this.#query = toRecord(new URLSearchParams(this.rawQuery));
    return this.#query;
  }

  /** Request cookies; with a name sent twice, the first one wins. Parsed on first use. */
  get cookies(): Record<string, string | undefined> {
    if (this.#cookies === undefined) {
      const header = this.req.headers.cookie;
      this.#cookies = header ? parseCookieHeader(header) : {};
    }
    return this.#cookies;
  }

  /** Free-form per-request storage for plugins and controllers. */
  get locals(): Record<string, unknown> {
    this.#locals ??= Object.create(null) as Record<string, unknown>;
    return this.#locals;
  }

  /** True on TLS (HTTP/1.1 or HTTP/2), or when `trustProxy` is on and the proxy says `X-Forwarded-Proto: https`. */
  get secure(): boolean {
    if ((this.req.socket as { encrypted?: boolean }).encrypted) return true;
    if (!this.#app.trustProxy) return false;
    const proto = this.req.headers['x-forwarded-proto'];
    const first = (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0]?.trim().toLowerCase();
    return first === 'https';
  }

  /**
   * The client's address: the socket's peer, or with `trustProxy` the last `X-Forwarded-For`
   * entry — the address the nearest proxy saw. Earlier entries are whatever the client wrote, so
   * keying a rate limit or an audit log on them would let a client pick its own address.
   */
  get clientAddress(): string | undefined {
    if (this.#app.trustProxy) {
      const forwarded = this.req.headers['x-forwarded-for'];
      const joined = Array.isArray(forwarded) ? forwarded.join(',') : forwarded;
      const last = joined?.slice(joined.lastIndexOf(',') + 1).trim();
      if (last !== undefined && last !== '') return last;
    }
    return this.req.socket.remoteAddress;
  }

  /** Set a response header now; it is sent with whatever the request ends with. */
  setHeader(name: string, value: string | readonly string[]): void {
    this.res.setHeader(name, value);
  }

  /** Add a `Set-Cookie` to the response. */
  setCookie(name: string, value: string, options: SerializeOptions = {}): void {
    this.res.appendHeader('set-cookie', serializeCookie(name, value, options));
  }
}

function toRecord(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (const [key, value] of params) {
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[key] = [prev, value];
  }
  return out;
}

export { toRecord as searchParamsToRecord };
