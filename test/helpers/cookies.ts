/** The `Set-Cookie` line for `name`, if the response set one. */
export function setCookieFor(res: Response, name = 'session_id'): string | undefined {
  return res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
}

/** `name=value` from the response's `Set-Cookie` for `name`, ready for a `Cookie` header. */
export function cookiePair(res: Response, name = 'session_id'): string {
  const line = setCookieFor(res, name);
  if (line === undefined) throw new Error(`response set no ${name} cookie`);
  return line.split(';')[0]!;
}

/** The attributes of a Set-Cookie line, lower-cased names. */
export function attributes(line: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of line.split(';').slice(1)) {
    const [k, ...v] = part.trim().split('=');
    out.set(k!.toLowerCase(), v.join('='));
  }
  return out;
}
