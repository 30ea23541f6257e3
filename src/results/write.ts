import { createReadStream } from 'node:fs';
import type { NodeResponse } from '../node-http.js';
import type { Reply } from './reply.js';
import { applySecurityHeaders, type SecurityHeaderSet } from './security-headers.js';

/**
 * Write a reply to the socket. Headers set earlier on the response (cookies) are kept; the
 * security headers go on last, where neither the reply nor anything earlier set them.
 */
export function writeReply(res: NodeResponse, reply: Reply, security: SecurityHeaderSet): void {
  res.statusCode = reply.status;
  for (const name in reply.headers) {
    const value = reply.headers[name] as string | string[];
    // Cookies set earlier (the session's, ctx.setCookie) must survive a result's own Set-Cookie.
    if (name.toLowerCase() === 'set-cookie' && res.hasHeader('set-cookie')) res.appendHeader('set-cookie', value);
    else res.setHeader(name, value);
  }
  applySecurityHeaders(res, security);
  const body = reply.body;
  if (body === undefined) {
    res.end();
    return;
  }
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    res.end(body);
    return;
  }
  if ('writeTo' in body) {
    body.writeTo(res);
    return;
  }
  const stream = createReadStream(body.file, { start: body.start, end: body.end });
  // The status line is already out by the time a read fails: all we can do is cut the connection.
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}
