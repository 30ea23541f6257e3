import { errors } from '../errors.js';

// C0 controls and DEL: CR and LF would split the Location header, NUL and the rest corrupt it.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
// What may go out as is: printable ASCII but space " < > \ ` { }, and "%" only as the start of a
// valid escape, which is never encoded again. This is encodeurl's set, except that "\" is encoded
// too: browsers read it as "/", so a raw "/\evil.example" would send the visitor off the site.
const NEEDS_ENCODING = /[^\x21\x23-\x3B\x3D\x3F-\x5B\x5D-\x5F\x61-\x7A\x7C\x7E]|%(?![0-9A-Fa-f]{2})/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const TO_ENCODE = /(?:[^\x21\x23-\x3B\x3D\x3F-\x5B\x5D-\x5F\x61-\x7A\x7C\x7E]|%(?![0-9A-Fa-f]{2}))+/g;

/**
 * A redirect target made safe for the `Location` header: non-ASCII characters and those a URL
 * may not hold raw are percent-encoded (as UTF-8, lone surrogates as U+FFFD), valid `%XX`
 * escapes are kept, and a control character is refused with `NOVA_ERR_REDIRECT_TARGET`. Works
 * on relative and absolute targets alike, and encoding twice changes nothing.
 *
 * @example
 * ```ts
 * encodeRedirectTarget('/search?q=café bar'); // '/search?q=caf%C3%A9%20bar'
 * encodeRedirectTarget('/100%25');           // '/100%25' (kept)
 * encodeRedirectTarget('/a\r\nSet-Cookie: x'); // throws NOVA_ERR_REDIRECT_TARGET
 * ```
 */
export function encodeRedirectTarget(target: unknown): string {
  if (typeof target !== 'string') throw errors.redirectTarget(`the target must be a string or a URL, got ${target === null ? 'null' : typeof target}`);
  const control = CONTROL.exec(target);
  if (control !== null) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw errors.redirectTarget(
      `it holds a control character (U+${code} at index ${control.index}), which a Location header cannot carry; check where the target came from`,
    );
  }
  if (!NEEDS_ENCODING.test(target)) return target;
  return target.replace(LONE_SURROGATE, '\uFFFD').replace(TO_ENCODE, encodeURI);
}
