import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

/**
 * A request as Node hands it over: `node:http`'s, or HTTP/2's compatibility object when the app
 * serves TLS (`config.tls`), where ALPN picks h2 or HTTP/1.1 per connection. Both are readable
 * streams with `method`, `url`, `headers` and `socket`; what differs is handled in this module.
 */
export type NodeRequest = IncomingMessage | Http2ServerRequest;
/** The response that goes with a `NodeRequest`. */
export type NodeResponse = ServerResponse | Http2ServerResponse;

/** True for a request that arrived over HTTP/2. */
export function isHttp2(req: NodeRequest): req is Http2ServerRequest {
  return req.httpVersionMajor === 2;
}

/**
 * The host the client asked for: HTTP/2's `:authority` pseudo-header, else `Host` (browsers send
 * only `:authority` over HTTP/2; where a client sends both, RFC 9113 §8.3.1 makes `:authority` the
 * one that counts). One function, so the context and cross-origin protection agree.
 */
export function requestHost(headers: IncomingHttpHeaders): string | undefined {
  const authority = (headers as Record<string, string | string[] | undefined>)[':authority'];
  if (typeof authority === 'string' && authority !== '') return authority;
  const host = headers.host;
  return host === undefined || host === '' ? undefined : host;
}

/**
 * Ask for the connection to be closed once this reply is out. On HTTP/1.1 that is
 * `Connection: close`; HTTP/2 forbids connection-specific headers (RFC 9113 §8.2.2), and one
 * stream cannot close the connection its neighbours share, so there it does nothing: the stream
 * ends with the reply, and what the client still sends is discarded under flow control.
 */
export function closeAfterReply(req: NodeRequest, res: NodeResponse): void {
  if (!isHttp2(req) && !res.headersSent) res.setHeader('connection', 'close');
}
