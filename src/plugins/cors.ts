import type { Context } from '../context.js';
import { errors } from '../errors.js';
import { status, type Headers } from '../results/result.js';
import { normaliseOrigin } from '../security/origin.js';
import { stop, type Plugin } from './plugin.js';

export interface CorsOptions {
  /** `'*'`, one origin (`'https://app.example'`), or a list of origins. Required. */
  readonly allowOrigins: '*' | string | readonly string[];
  /** Methods a preflight allows. Default `GET, HEAD, PUT, PATCH, POST, DELETE`. */
  readonly allowMethods?: readonly string[];
  /** Request headers a preflight allows. Default: echo the headers the preflight asks for. */
  readonly allowHeaders?: readonly string[];
  /** Response headers scripts may read (`Access-Control-Expose-Headers`). */
  readonly exposeHeaders?: readonly string[];
  /** Allow cookies and HTTP auth on cross-origin requests. Default `false`. */
  readonly credentials?: boolean;
  /** Seconds a browser may cache a preflight answer (`Access-Control-Max-Age`). */
  readonly maxAge?: number;
}

const NAME = 'cors';
const KNOWN_OPTIONS = new Set(['allowOrigins', 'allowMethods', 'allowHeaders', 'exposeHeaders', 'credentials', 'maxAge']);
const DEFAULT_METHODS = ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE'];
// RFC 9110 token: what method and header names are made of. Anything else (CR, LF, spaces,
// commas) could split or forge a header, so it is refused at creation.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

interface Config {
  /** `undefined` means any origin. */
  readonly origins: ReadonlySet<string> | undefined;
  readonly methods: string;
  readonly headers: string | undefined;
  readonly expose: string | undefined;
  readonly credentials: boolean;
  readonly maxAge: string | undefined;
}

/**
 * Nova's `nova_cors_plugin`, completed: answers preflights itself and adds the CORS headers to
 * every other request from an allowed origin. Unlike Nova, a missing `allowOrigins` fails at
 * creation rather than with a 500 per request, `Vary: Origin` keeps caches from mixing answers
 * for different origins, and credentials are supported. The origins it names are trusted by
 * cross-origin protection on its routes (docs/cross-origin.md); `'*'` trusts none.
 *
 * @example
 * ```ts
 * // Preflights are OPTIONS requests: the route must accept them to reach the plugin.
 * const api: RouteGroup = {
 *   prefix: '/api',
 *   plugins: [cors({ allowOrigins: ['https://app.example'], credentials: true, maxAge: 600 })],
 *   routes: [['/items', listItems, { methods: ['get', 'options'] }]],
 * };
 * ```
 */
export function cors(options: CorsOptions): Plugin {
  const config = validate(options);
  // Without credentials a wildcard gives every request the same answer, Origin or not, so a cached
  // copy of a same-origin response is still right for a cross-origin one and nothing varies.
  const wildcard = config.origins === undefined;
  const allowOriginFor = (origin: string | undefined): string | undefined => {
    if (wildcard) return '*';
    if (origin === undefined) return undefined;
    return config.origins!.has(origin) ? origin : undefined;
  };

  return {
    name: NAME,
    // Cross-origin protection trusts the origins named here on this plugin's routes, so they are
    // not configured twice. A wildcard names none: "any site may read" is no reason to let any
    // site post a login form or spend a session (give such a group `crossOrigin: false`).
    trustedOrigins: wildcard ? [] : [...config.origins!],
    preRequest(ctx: Context) {
      if (!wildcard) appendVary(ctx, 'Origin');
      const origin = single(ctx.req.headers.origin);
      const allowOrigin = allowOriginFor(origin);
      // A preflight always carries Origin; an OPTIONS without it is the application's business.
      const isPreflight = ctx.method === 'OPTIONS' && origin !== undefined && ctx.req.headers['access-control-request-method'] !== undefined;

      if (!isPreflight) {
        if (allowOrigin === undefined) return;
        ctx.setHeader('access-control-allow-origin', allowOrigin);
        if (config.credentials) ctx.setHeader('access-control-allow-credentials', 'true');
        if (config.expose !== undefined) ctx.setHeader('access-control-expose-headers', config.expose);
        return;
      }

      // A preflight from an origin we do not allow still gets its 204, only without any
      // Access-Control-Allow-* header: the browser then fails the preflight and never sends the
      // real request, which is the standard refusal. Answering here (rather than passing it on)
      // keeps foreign preflights away from the application's own OPTIONS handlers, and a 403
      // would tell the browser nothing more.
      if (allowOrigin === undefined) return stop(status(204));
      const headers: Headers = {
        'access-control-allow-origin': allowOrigin,
        'access-control-allow-methods': config.methods,
      };
      if (config.credentials) headers['access-control-allow-credentials'] = 'true';
      const allowHeaders = config.headers ?? echoedHeaders(single(ctx.req.headers['access-control-request-headers']));
      if (config.headers === undefined) appendVary(ctx, 'Access-Control-Request-Headers');
      if (allowHeaders !== undefined) headers['access-control-allow-headers'] = allowHeaders;
      if (config.maxAge !== undefined) headers['access-control-max-age'] = config.maxAge;
      return stop(status(204, { headers }));
    },
  };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}

/** The requested header names that are well formed, re-joined; never the raw client value. */
function echoedHeaders(requested: string | undefined): string | undefined {
  if (requested === undefined) return undefined;
  const names = requested
    .split(',')
    .map((name) => name.trim())
    .filter((name) => TOKEN.test(name));
  return names.length === 0 ? undefined : names.join(', ');
}

/** Add a name to `Vary`, keeping what other code already put there. */
function appendVary(ctx: Context, name: string): void {
  const current = ctx.res.getHeader('vary');
  const existing = (Array.isArray(current) ? current.join(', ') : current === undefined ? '' : String(current)).trim();
  const names = existing === '' ? [] : existing.split(',').map((part) => part.trim().toLowerCase());
  if (names.includes('*') || names.includes(name.toLowerCase())) return;
  ctx.setHeader('vary', existing === '' ? name : `${existing}, ${name}`);
}

function validate(options: CorsOptions): Config {
  if (typeof options !== 'object' || options === null) {
    throw errors.pluginInvalid(NAME, 'options are required: cors({ allowOrigins: [...] })');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw errors.pluginInvalid(NAME, `unknown option "${key}" (known: ${[...KNOWN_OPTIONS].join(', ')})`);
  }
  const { credentials = false, maxAge } = options;
  if (typeof credentials !== 'boolean') throw errors.pluginInvalid(NAME, '"credentials" must be a boolean');
  if (maxAge !== undefined && (typeof maxAge !== 'number' || !Number.isSafeInteger(maxAge) || maxAge < 0)) {
    throw errors.pluginInvalid(NAME, `"maxAge" must be a whole number of seconds, 0 or more (got ${String(maxAge)})`);
  }
  if (credentials && options.allowOrigins === '*') {
    // Echoing any Origin with credentials lets every site read logged-in responses: name them.
    throw errors.pluginInvalid(NAME, '"credentials: true" needs the allowed origins named; "*" would trust every site with your users\' sessions');
  }
  const methods = tokens('allowMethods', options.allowMethods ?? DEFAULT_METHODS).map((m) => m.toUpperCase());
  const headers = options.allowHeaders === undefined ? undefined : tokens('allowHeaders', options.allowHeaders);
  const expose = options.exposeHeaders === undefined ? undefined : tokens('exposeHeaders', options.exposeHeaders);
  return {
    origins: origins(options.allowOrigins),
    methods: methods.join(', '),
    headers: headers === undefined || headers.length === 0 ? undefined : headers.join(', '),
    expose: expose === undefined || expose.length === 0 ? undefined : expose.join(', '),
    credentials,
    maxAge: maxAge === undefined ? undefined : String(maxAge),
  };
}

function origins(value: unknown): ReadonlySet<string> | undefined {
  if (value === undefined) throw errors.pluginInvalid(NAME, '"allowOrigins" is required: "*", an origin, or a list of origins');
  if (value === '*') return undefined;
  const list: unknown[] = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  if (typeof value !== 'string' && !Array.isArray(value)) {
    throw errors.pluginInvalid(NAME, '"allowOrigins" must be "*", an origin string, or an array of origins');
  }
  if (list.length === 0) throw errors.pluginInvalid(NAME, '"allowOrigins" is an empty list: no origin could ever be allowed');
  if (list.length === 1 && list[0] === '*') return undefined;
  return new Set(list.map(origin));
}

/**
 * Browsers send `scheme://host[:port]`, lower-case and without a default port or path, and the
 * comparison is exact; so each configured origin is brought to that form, and anything that
 * is not an origin (a path, `*` inside a list, the forgeable `null`) is refused.
 */
function origin(value: unknown): string {
  if (typeof value !== 'string') throw errors.pluginInvalid(NAME, `"allowOrigins" entries must be strings (got ${typeof value})`);
  if (value === '*') throw errors.pluginInvalid(NAME, '"*" must be given alone, as allowOrigins: "*"');
  if (value === 'null') {
    throw errors.pluginInvalid(NAME, 'the "null" origin is sent by sandboxed and file pages anyone can make; it cannot be allowed');
  }
  const normalised = normaliseOrigin(value);
  if (normalised === undefined) {
    throw errors.pluginInvalid(NAME, `"${JSON.stringify(value).slice(1, -1)}" is not an origin (expected scheme://host[:port])`);
  }
  return normalised;
}

function tokens(option: string, value: unknown): string[] {
  if (!Array.isArray(value)) throw errors.pluginInvalid(NAME, `"${option}" must be an array of names`);
  return value.map((item: unknown) => {
    if (typeof item !== 'string' || !TOKEN.test(item)) {
      throw errors.pluginInvalid(NAME, `"${option}" holds ${JSON.stringify(item)}, which is not a valid name`);
    }
    return item;
  });
}
