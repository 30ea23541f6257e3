import { errors, type NovaError } from '../errors.js';

/*
 * The request path as the router matches it, worked out once per request (by the Context) so
 * that `ctx.path`, which plugins and security functions check, is the very string the router
 * matched: `/%61ny`, `//any/`, `/x/../any` and `http://evil.example/any` are all `/any`, and a
 * check on `ctx.path === '/any'` cannot be walked around.
 *
 * The canonical form:
 * - an absolute-form target (`GET http://host/any`) keeps only its path;
 * - percent-escapes are decoded once, as UTF-8 (invalid or overlong UTF-8 is refused), except
 *   those of the characters that would change how the path splits or ends, or that would allow a
 *   second decoding: `/ ? # %` and the rest of decodeURI's reserved set `$ & + , : ; = @`. Those
 *   stay encoded, in upper-case hex, so `/a%2Fb` is one segment, and `/%2561ny` is `/%2561ny`,
 *   never `/any`. find-my-way decodes the path it is given with decodeURI, which leaves exactly
 *   these escapes alone: the canonical form goes through it unchanged;
 * - empty segments (`//`, a trailing `/`) are dropped and `.`/`..` segments resolved (`%2e`
 *   counts as `.`, as in the WHATWG URL parser), never above the root;
 * - a control character (encoded; Node's parser already refuses raw ones), a `#`, a `%` without
 *   two hex digits, or a target that is neither a path nor an http(s) URL (`*`) is refused: the
 *   pipeline answers 400 before any route sees it.
 *
 * The common case — a plain ASCII path with no `%`, no `//`, no `.` segment and no trailing
 * slash — is recognised by one scan and returned as is, without allocating.
 */

const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;
const HASH = 0x23;

/** Bytes whose escapes stay encoded: decodeURI's reserved set plus `%`. */
const KEEP_ENCODED = new Uint8Array(128);
for (const c of '#$%&+,/:;=?@') KEEP_ENCODED[c.charCodeAt(0)] = 1;

const HEX_DIGITS = '0123456789ABCDEF';
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const C1_CONTROL = /[\u0080-\u009f]/;
const ABSOLUTE_FORM = /^https?:\/\/([^/]*)/i;
const AUTHORITY = /^[A-Za-z0-9\-._~!$&'()*+,;=:@[\]%]+$/;

/**
 * The canonical path of a request target's path part (the target before `?`), or the 400 error
 * that refuses it.
 *
 * @example
 * ```ts
 * normalisePath('/%61ny/');                 // '/any'
 * normalisePath('http://evil.example/any'); // '/any'
 * normalisePath('/%2561ny');                // '/%2561ny'
 * normalisePath('/a%00');                   // NovaError NOVA_ERR_BAD_PATH (400)
 * ```
 */
export function normalisePath(raw: string): string | NovaError {
  if (raw.charCodeAt(0) !== SLASH) return fromAbsoluteForm(raw);
  return isCanonical(raw) ? raw : canonical(raw);
}

function isCanonical(path: string): boolean {
  const last = path.length - 1;
  for (let i = 0; i <= last; i++) {
    const c = path.charCodeAt(i);
    if (c === SLASH) {
      if (i === last) return i === 0;
      const next = path.charCodeAt(i + 1);
      if (next === SLASH || next === DOT) return false;
    } else if (c === PERCENT || c === HASH || c < 0x21 || c > 0x7e) {
      return false;
    }
  }
  return true;
}

function fromAbsoluteForm(raw: string): string | NovaError {
  const m = ABSOLUTE_FORM.exec(raw);
  if (m === null) return errors.badPath('the target is neither a path nor an http(s) URL');
  if (!AUTHORITY.test(m[1]!)) return errors.badPath('the absolute URL has no valid host');
  const path = raw.slice(m[0].length);
  return path === '' ? '/' : normalisePath(path);
}

function canonical(path: string): string | NovaError {
  // Every step keeps or shortens the byte count: a kept escape is 3 bytes for 3 characters.
  const bytes = new Uint8Array(path.length);
  let n = 0;
  let ascii = true;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === PERCENT) {
      const hi = hexValue(path.charCodeAt(i + 1));
      const lo = hexValue(path.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return errors.badPath('a "%" is not followed by two hex digits');
      const byte = hi * 16 + lo;
      if (byte < 0x80 && KEEP_ENCODED[byte] === 1) {
        bytes[n++] = PERCENT;
        bytes[n++] = HEX_DIGITS.charCodeAt(hi);
        bytes[n++] = HEX_DIGITS.charCodeAt(lo);
      } else if (byte < 0x20 || byte === 0x7f) {
        return errors.badPath('it holds an encoded control character');
      } else {
        bytes[n++] = byte;
        if (byte >= 0x80) ascii = false;
      }
      i += 2;
    } else if (c === HASH) {
      return errors.badPath('it holds a "#" (a fragment is never sent to a server)');
    } else if (c < 0x21 || c > 0x7e) {
      return errors.badPath('it holds a character that must be percent-encoded');
    } else {
      bytes[n++] = c;
    }
  }
  let decoded: string;
  if (ascii) {
    decoded = Buffer.from(bytes.buffer, 0, n).toString('latin1');
  } else {
    try {
      decoded = utf8.decode(bytes.subarray(0, n));
    } catch {
      return errors.badPath('its percent-encoded bytes are not UTF-8');
    }
    if (C1_CONTROL.test(decoded)) return errors.badPath('it holds an encoded control character');
  }
  return resolveSegments(decoded);
}

/** Drop empty segments, resolve `.` and `..` (never above the root). */
function resolveSegments(path: string): string {
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  return `/${out.join('/')}`;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}
