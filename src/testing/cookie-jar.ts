import { parseSetCookie } from 'cookie';

interface StoredCookie {
  name: string;
  value: string;
  path: string;
  /** Milliseconds since the epoch; undefined for a cookie that lasts as long as the jar. */
  expiresAt: number | undefined;
}

/**
 * A browser's cookie store for one host, as RFC 6265 §5.3 keeps it: cookies keyed by name and
 * path, replaced by a later `Set-Cookie` of the same name and path, deleted by one that has
 * already expired (`Max-Age=0`, an `Expires` in the past), and sent only to paths under theirs.
 * Domains are not compared: an injected request has one host.
 */
export class CookieJar {
  readonly #cookies = new Map<string, StoredCookie>();

  /** Take the `Set-Cookie` headers of a response to a request for `requestPath`. */
  store(setCookies: readonly string[], requestPath: string, now = Date.now()): void {
    for (const header of setCookies) {
      // The raw value goes back as it came: the jar is not the place to decode it.
      const parsed = parseSetCookie(header, { decode: (s) => s });
      if (parsed.name === '') continue;
      const path = parsed.path?.startsWith('/') ? parsed.path : defaultPath(requestPath);
      const expiresAt = parsed.maxAge !== undefined ? now + parsed.maxAge * 1000 : parsed.expires?.getTime();
      const key = `${parsed.name}\0${path}`;
      if (expiresAt !== undefined && expiresAt <= now) this.#cookies.delete(key);
      else this.#cookies.set(key, { name: parsed.name, value: parsed.value ?? '', path, expiresAt });
    }
  }

  /** The cookies a request for `requestPath` carries, longest path first (RFC 6265 §5.4). */
  cookies(requestPath: string, now = Date.now()): Array<[name: string, value: string]> {
    const sent: StoredCookie[] = [];
    for (const [key, cookie] of this.#cookies) {
      if (cookie.expiresAt !== undefined && cookie.expiresAt <= now) this.#cookies.delete(key);
      else if (pathMatches(requestPath, cookie.path)) sent.push(cookie);
    }
    return sent.sort((a, b) => b.path.length - a.path.length).map((c) => [c.name, c.value]);
  }

  clear(): void {
    this.#cookies.clear();
  }
}

/** RFC 6265 §5.1.4: the request path up to its last `/`, or `/`. */
function defaultPath(requestPath: string): string {
  const last = requestPath.lastIndexOf('/');
  return last <= 0 ? '/' : requestPath.slice(0, last);
}

/** RFC 6265 §5.1.4 path-match. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}
