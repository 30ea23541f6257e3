/**
 * `value` in the form browsers send in `Origin` (`scheme://host[:port]`, lower-case, without a
 * default port, path or trailing slash), or `undefined` when it is not an origin: a path, a query,
 * credentials, `*`, or the opaque `null` that sandboxed and `file:` pages send and anyone can make.
 * Browsers compare origins exactly, so configured origins are brought to that one spelling.
 *
 * @example
 * ```ts
 * normaliseOrigin('HTTPS://App.Example:443/'); // 'https://app.example'
 * normaliseOrigin('https://app.example/login'); // undefined
 * ```
 */
export function normaliseOrigin(value: string): string | undefined {
  if (/[\r\n]/.test(value)) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const bare = url.origin !== 'null' && (url.pathname === '/' || url.pathname === '') && !url.search && !url.hash && !url.username && !url.password;
  return bare ? url.origin : undefined;
}
