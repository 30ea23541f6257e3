import { constants } from 'node:http2';
import { isHttp2, type NodeRequest, type NodeResponse } from './node-http.js';

/**
 * Cut a request body that stalls: nginx's `client_body_timeout`. While a body is still coming,
 * the connection (HTTP/1.1) or the stream (HTTP/2) gets an idle timer of `ms`, refreshed by every
 * byte that arrives. When it fires, Node emits `'timeout'` on the request:
 *
 * - a body reader listening for it (the request plugin does) answers 408 and closes the connection;
 * - if the reply is already out, nobody wants the rest of the body: the connection (or stream) is
 *   closed at once rather than held open for a client that sends nothing;
 * - if nobody reads the body yet, the stall may be the app's own back-pressure, not the client's:
 *   the timer is re-armed, and `requestTimeout` bounds the whole request (Node answers 408).
 *
 * Once the body is in, the timer is disarmed: a slow controller is not a slow client.
 */
export function watchBodyIdle(req: NodeRequest, res: NodeResponse, ms: number): void {
  if (!expectsBody(req)) return;
  const arm = isHttp2(req) ? (t: number) => req.stream.setTimeout(t) : (t: number) => req.socket.setTimeout(t);
  const onIdle = () => {
    if (req.complete) return void arm(0);
    if (res.writableFinished) {
      if (isHttp2(req)) req.stream.close(constants.NGHTTP2_NO_ERROR);
      else req.socket.destroy();
      return;
    }
    // More than our own listener: a body reader takes charge and answers 408.
    if (req.listenerCount('timeout') > 1) return;
    arm(ms);
  };
  arm(ms);
  // HTTP/1.1 emits on the request while it is incomplete and on the response in every case; HTTP/2
  // on both. A listener on either keeps Node from destroying the socket by default.
  req.on('timeout', onIdle);
  res.on('timeout', onIdle);
}

/**
 * Bound the whole of an HTTP/2 request body by `ms`, as Node's `requestTimeout` does for HTTP/1.1
 * (which has no HTTP/2 counterpart): a body dripped slowly enough to dodge the idle timer is cut.
 */
export function watchRequestTime(req: NodeRequest, ms: number): void {
  if (!isHttp2(req) || !expectsBody(req)) return;
  const timer = setTimeout(() => {
    if (!req.complete) req.stream.close(constants.NGHTTP2_CANCEL);
  }, ms);
  timer.unref();
  req.once('close', () => clearTimeout(timer));
}

/** A request announces a body by its length or by chunked encoding; HTTP/2 by not ending the stream with its headers. */
function expectsBody(req: NodeRequest): boolean {
  if (isHttp2(req)) return !req.stream.readableEnded && !req.stream.endAfterHeaders;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
