import type { ServerResponse } from 'node:http';
import { serialize, type SerializeOptions } from 'cookie';
import type { SessionConfig } from '../config.js';

/** Cookie values this long are not ours: refuse them before any parsing or HMAC work. */
const MAX_VALUE_LENGTH = 256;

export type CookieRead = { readonly kind: 'absent' } | { readonly kind: 'duplicate' } | { readonly kind: 'value'; readonly value: string };

/**
 * Find the session cookie in a `Cookie` header. Only our cookie is looked at, so a malformed
 * neighbour cannot break the request (Nova answers 500 for any URL then); a name sent twice —
 * cookie tossing, or two paths — counts as no cookie rather than picking one (Nova turns it into
 * a list and loses the session).
 */
export function readSessionCookie(header: string | undefined, name: string): CookieRead {
  if (header === undefined || header.length === 0) return { kind: 'absent' };
  let found: string | undefined;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end && header.slice(start, eq).trim() === name) {
      if (found !== undefined) return { kind: 'duplicate' };
      found = header.slice(eq + 1, end).trim();
    }
    start = end + 1;
  }
  if (found === undefined) return { kind: 'absent' };
  if (found.length > MAX_VALUE_LENGTH) return { kind: 'absent' };
  return { kind: 'value', value: found };
}

/** The cookie's name on the wire: `__Host-` prefixed when configured. */
export function cookieName(config: SessionConfig): string {
  return config.hostPrefix ? `__Host-${config.cookieName}` : config.cookieName;
}

/** The attributes the session cookie is set with; deleting uses the same ones. */
export function cookieAttributes(config: SessionConfig, secureRequest: boolean): SerializeOptions {
  const secure = config.hostPrefix || config.secure === true || (config.secure === 'auto' && secureRequest);
  return {
    path: config.hostPrefix ? '/' : config.path,
    httpOnly: true,
    sameSite: config.sameSite,
    secure,
    ...(config.domain !== undefined && !config.hostPrefix ? { domain: config.domain } : {}),
    ...(config.maxAge !== undefined ? { maxAge: config.maxAge } : {}),
  };
}

/**
 * Put the session cookie on the response, replacing any session cookie set earlier in this request
 * (a regenerate after a delete must not leave two competing `Set-Cookie`s for one name).
 */
export function writeSessionCookie(res: ServerResponse, name: string, value: string, attributes: SerializeOptions): void {
  const line = serialize(name, value, attributes);
  const existing = res.getHeader('set-cookie');
  const others = (Array.isArray(existing) ? existing : existing === undefined ? [] : [String(existing)]).filter(
    (c) => !c.startsWith(`${name}=`),
  );
  res.setHeader('set-cookie', [...others, line]);
  // A response that sets the session cookie must never be stored by a shared cache.
  if (!res.hasHeader('cache-control')) res.setHeader('cache-control', 'no-store');
}

/** Expire the session cookie with the same attributes it was set with. */
export function expireSessionCookie(res: ServerResponse, name: string, attributes: SerializeOptions): void {
  const { maxAge: _ignored, ...rest } = attributes;
  writeSessionCookie(res, name, '', { ...rest, maxAge: 0, expires: new Date(0) });
}
