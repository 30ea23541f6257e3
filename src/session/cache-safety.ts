/**
 * Cache directives for a response that depends on the visitor's session: Django adds
 * `Vary: Cookie` once the session is accessed, Rails makes such responses `private`. A shared
 * cache (a CDN, a company proxy) that kept one would hand one visitor's page, or session cookie,
 * to the next.
 */
import type { NodeResponse } from '../node-http.js';
import type { Reply } from '../results/reply.js';
import type { Headers } from '../results/result.js';

/** What a response tied to a session gets unless the app chose a private policy itself. */
export const PRIVATE_CACHE_CONTROL = 'private, no-store';

// `private="set-cookie"` (a field name after it) makes only those fields private: not a private policy.
const PRIVATE_DIRECTIVE = /(?:^|,)\s*(?:private|no-store)\s*(?:,|$)/i;
const SHARED_DIRECTIVE = /(?:^|,)\s*(?:public|s-maxage)\b/i;
const VARIES_BY_COOKIE = /(?:^|,)\s*(?:\*|cookie)\s*(?:,|$)/i;

/**
 * Whether a `Cache-Control` value keeps the response out of shared caches by itself: it says
 * `private` or `no-store`, and nothing (`public`, `s-maxage`) that asks shared caches to keep it.
 */
export function isPrivateCacheControl(value: string): boolean {
  return PRIVATE_DIRECTIVE.test(value) && !SHARED_DIRECTIVE.test(value);
}

/**
 * Make `reply` uncacheable by shared caches: `Cache-Control: private, no-store` unless the app set
 * a private policy of its own (kept as it is: `private, max-age=60` lets the browser keep the
 * page), and with `varyCookie`, `Cookie` added to `Vary`. Headers may have been set on the reply
 * (in any letter case) or earlier on the response; the reply's are the ones written.
 *
 * @example
 * ```ts
 * keepOutOfSharedCaches(ctx.res, reply, true); // Cache-Control: private, no-store; Vary: Origin, Cookie
 * ```
 */
export function keepOutOfSharedCaches(res: NodeResponse, reply: Reply, varyCookie: boolean): void {
  const headers = reply.headers;
  const cacheKey = keyOf(headers, 'cache-control');
  const asked = text(cacheKey === undefined ? res.getHeader('cache-control') : headers[cacheKey]);
  if (!isPrivateCacheControl(asked)) headers[cacheKey ?? 'cache-control'] = PRIVATE_CACHE_CONTROL;
  if (!varyCookie) return;
  const varyKey = keyOf(headers, 'vary');
  const vary = text(varyKey === undefined ? res.getHeader('vary') : headers[varyKey]).trim();
  if (!VARIES_BY_COOKIE.test(vary)) headers[varyKey ?? 'vary'] = vary === '' ? 'Cookie' : `${vary}, Cookie`;
}

/** The key under which `headers` holds `name` (lower case), whatever its letter case. */
function keyOf(headers: Headers, name: string): string | undefined {
  if (Object.hasOwn(headers, name)) return name;
  for (const key in headers) if (key.length === name.length && key.toLowerCase() === name) return key;
  return undefined;
}

function text(value: string | number | readonly string[] | undefined): string {
  if (value === undefined) return '';
  return typeof value === 'object' ? value.join(', ') : String(value);
}
