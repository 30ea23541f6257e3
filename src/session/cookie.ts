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
 * The session cookie's `Set-Cookie` lines. The attributes are fixed by configuration, so the
 * `cookie` library serialises each variant once, here; a request only splices its signed value
 * (base64url and a dot: nothing to encode) into the right one.
 */
export class SessionCookieWriter {
  readonly name: string;
  readonly #plain: readonly [string, string];
  readonly #secure: readonly [string, string];
  readonly #expirePlain: string;
  readonly #expireSecure: string;

  constructor(config: SessionConfig) {
    this.name = cookieName(config);
    this.#plain = this.#template(cookieAttributes(config, false));
    this.#secure = this.#template(cookieAttributes(config, true));
    this.#expirePlain = this.#expired(cookieAttributes(config, false));
    this.#expireSecure = this.#expired(cookieAttributes(config, true));
  }

  /** The line that sets the cookie to `value`. */
  line(value: string, secureRequest: boolean): string {
    const [head, tail] = secureRequest ? this.#secure : this.#plain;
    return head + value + tail;
  }

  /** The line that expires the cookie, with the attributes it was set with. */
  expiredLine(secureRequest: boolean): string {
    return secureRequest ? this.#expireSecure : this.#expirePlain;
  }

  #template(attributes: SerializeOptions): readonly [string, string] {
    const marker = 'NOVA0VALUE0MARKER';
    const line = serialize(this.name, marker, attributes);
    const at = line.indexOf(marker);
    return [line.slice(0, at), line.slice(at + marker.length)];
  }

  #expired(attributes: SerializeOptions): string {
    const { maxAge: _ignored, ...rest } = attributes;
    return serialize(this.name, '', { ...rest, maxAge: 0, expires: new Date(0) });
  }
}
