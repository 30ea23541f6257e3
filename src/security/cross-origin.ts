// Cross-origin protection (issue 12, point 5): token-less CSRF protection from the headers browsers
// send, after Go 1.25's net/http CrossOriginProtection. Compiled per route at start-up; a request
// costs a few header reads. docs/cross-origin.md is the user's side of this file.
import type { IncomingHttpHeaders } from 'node:http';
import type { Context } from '../context.js';
import { errors } from '../errors.js';
import { requestHost } from '../node-http.js';
import type { Plugin } from '../plugins/plugin.js';
import { normaliseOrigin } from './origin.js';

/** The app-wide setting (`config.crossOrigin`, plus `trustProxy`), or `false` for off everywhere. */
export type CrossOriginSettings = false | { readonly trustedOrigins: readonly string[]; readonly trustProxy: boolean };

/** What one route checks, resolved at start-up; `false`: nothing to check on this route. */
export type CrossOriginPolicy =
  | false
  | {
      /** Origins let through even when the browser says the request is cross-origin. */
      readonly trusted: ReadonlySet<string>;
      /** Read the host from the last `X-Forwarded-Host` entry. */
      readonly trustProxy: boolean;
    };

/** Safe methods (RFC 9110 §9.2.1) are never checked; as in Go, TRACE is not among them. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The policy of one route: off when the app or the route's group turned protection off, or when
 * the route answers only safe methods; otherwise the app's trusted origins plus those its plugins
 * name (`cors()`'s allowed origins).
 */
export function compileCrossOrigin(
  settings: CrossOriginSettings,
  group: boolean | undefined,
  plugins: readonly Plugin[],
  methods: readonly string[],
): CrossOriginPolicy {
  if (settings === false || group === false || methods.every((m) => SAFE.has(m))) return false;
  const trusted = new Set(settings.trustedOrigins);
  for (const plugin of plugins) {
    for (const origin of plugin.trustedOrigins ?? []) {
      const normalised = typeof origin === 'string' ? normaliseOrigin(origin) : undefined;
      if (normalised === undefined)
        throw errors.pluginInvalid(plugin.name, `trustedOrigins holds ${JSON.stringify(origin)}, which is not an origin (scheme://host[:port])`);
      trusted.add(normalised);
    }
  }
  return { trusted, trustProxy: settings.trustProxy };
}

/**
 * Refuse an unsafe request a browser sent from another origin, with `NOVA_ERR_CROSS_ORIGIN` (403).
 * The pipeline calls it right after routing, before plugins and the security function.
 */
export function checkCrossOrigin(policy: CrossOriginPolicy, ctx: Context): void {
  if (policy === false) return;
  const refused = crossOriginRefusal(policy, ctx.method, ctx.req.headers);
  if (refused !== undefined) throw errors.crossOriginRejected(refused);
}

/**
 * Why a request is refused, or `undefined` to let it through (Go's `Check`):
 * - a safe method passes;
 * - `Sec-Fetch-Site: same-origin` or `none` (the user typed the address) passes, any other value
 *   is refused unless `Origin` is trusted;
 * - else no `Origin` (curl, server-to-server, old browsers on same-origin posts) passes;
 * - else `Origin`'s host[:port] must be the host the app was asked for (`:authority` or `Host`,
 *   or the last `X-Forwarded-Host` entry under `trustProxy`), or `Origin` must be trusted.
 *
 * The scheme is not compared, as in Go: `Host` carries none. Only a browser without
 * `Sec-Fetch-Site` (before 2023) could then pass an http→https post; HSTS closes that.
 */
export function crossOriginRefusal(policy: Exclude<CrossOriginPolicy, false>, method: string, headers: IncomingHttpHeaders): string | undefined {
  if (SAFE.has(method)) return undefined;
  const origin = headers.origin;
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== '') {
    if (site === 'same-origin' || site === 'none') return undefined;
    if (origin !== undefined && policy.trusted.has(origin)) return undefined;
    // Fixed words, never the client's value, go into the message.
    return site === 'cross-site' || site === 'same-site'
      ? `the browser sent it from another origin (Sec-Fetch-Site: ${site})`
      : 'Sec-Fetch-Site is not same-origin';
  }
  if (origin === undefined || origin === '') return undefined;
  const host = originHost(origin);
  if (host !== undefined && host === appHost(headers, policy.trustProxy)?.toLowerCase()) return undefined;
  if (policy.trusted.has(origin)) return undefined;
  return origin === 'null' ? 'Origin is null (a sandboxed or file page)' : 'Origin does not match the host the request was sent to';
}

/** `host[:port]` of an `Origin` value, lower-cased; `undefined` for anything without `scheme://`. */
function originHost(origin: string): string | undefined {
  const start = origin.indexOf('://');
  if (start <= 0) return undefined;
  const host = origin.slice(start + 3);
  return host === '' ? undefined : host.toLowerCase();
}

/**
 * The host the client asked for, as the app sees it: under `trustProxy` the last
 * `X-Forwarded-Host` entry (the one the nearest proxy wrote; earlier ones are the client's), else
 * HTTP/2's `:authority`, else `Host`.
 */
function appHost(headers: IncomingHttpHeaders, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const forwarded = headers['x-forwarded-host'];
    const joined = Array.isArray(forwarded) ? forwarded.join(',') : forwarded;
    const last = joined?.slice(joined.lastIndexOf(',') + 1).trim();
    if (last !== undefined && last !== '') return last;
  }
  return requestHost(headers);
}
