import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, dirname } from 'node:path';
import send from 'send';
import type { Context } from '../context.js';
import type { NodeResponse } from '../node-http.js';
import type { Reply } from '../results/reply.js';
import type { ResolvedStaticOptions } from './static-files.js';

/**
 * The reply for a static file already found inside its root (see resolve.ts): `send`, the
 * library under express.static and serve-static, answers the HTTP side — ETag, Last-Modified,
 * 304 on If-None-Match / If-Modified-Since, 412, byte ranges (206, 416), HEAD, `Cache-Control`,
 * a content type by extension with a UTF-8 charset for text. It runs when the pipeline writes the
 * reply, after the cookies and security headers are on the response, and sets its own status.
 */
export function staticReply(ctx: Context, file: string, options: ResolvedStaticOptions): Reply {
  const writeTo = (res: NodeResponse): void => {
    // The path is one name under its own directory, encoded because send decodes it once.
    const stream = send(ctx.req as IncomingMessage, `/${encodeURIComponent(basename(file))}`, {
      root: dirname(file),
      // resolve.ts has decided on dotfiles and indexes; send serves exactly the file found.
      dotfiles: 'allow',
      index: false,
      maxAge: options.maxAgeSeconds * 1000,
      immutable: options.immutable,
    });
    // With a listener send reports instead of writing its own HTML page (and clearing our headers).
    stream.on('error', (err: { status?: number; headers?: Record<string, string> }) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // The file's headers describe a body this answer does not have.
      for (const name of ['content-type', 'content-length', 'etag', 'last-modified', 'accept-ranges']) res.removeHeader(name);
      res.statusCode = err.status ?? 500;
      for (const [name, value] of Object.entries(err.headers ?? {})) res.setHeader(name, value);
      res.end();
    });
    stream.pipe(res as ServerResponse);
  };
  return { status: 200, headers: {}, body: { writeTo } };
}
