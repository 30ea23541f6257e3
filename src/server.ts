import { createServer, Server as HttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from 'node:http2';
import { watchBodyIdle, watchRequestTime } from './body-timeout.js';
import type { ServerLimits, TlsConfig } from './config.js';
import { isHttp2, type NodeRequest, type NodeResponse } from './node-http.js';

/**
 * What `listen` runs on: `node:http`, or with `tls` an HTTP/2 server that also speaks HTTP/1.1
 * (Node gives that one `closeIdleConnections` for its HTTP/1.1 connections; its types omit it).
 */
export type NovaServer = Server | (Http2SecureServer & { closeIdleConnections(): void });

export interface RunningServer {
  readonly server: NovaServer;
  /** Stop accepting, drain in-flight requests (at most `timeoutMs`), then close every connection. */
  close(timeoutMs: number): Promise<void>;
}

export interface ServerOptions {
  port: number;
  host: string;
  log?: Pick<Console, 'error'>;
  /** Timeouts and connection limits (`config.server`); Node's defaults when omitted. */
  limits?: ServerLimits;
  /** Serve HTTPS with HTTP/2 and HTTP/1.1 (ALPN). */
  tls?: TlsConfig;
}

/**
 * Listen on `node:http` (or, with `tls`, on `node:http2` with HTTP/1.1 fallback) with the
 * configured limits, and keep count of in-flight requests so shutdown can drain them.
 *
 * @example
 * ```ts
 * const running = await startServer(app.handle, { port: 8080, host: '127.0.0.1' });
 * await running.close(15_000);
 * ```
 */
export async function startServer(handler: (req: NodeRequest, res: NodeResponse) => Promise<void>, options: ServerOptions): Promise<RunningServer> {
  const log = options.log ?? console;
  const limits = options.limits;
  let inFlight = 0;
  let draining = false;
  let drained: (() => void) | undefined;
  // In-flight requests are counted on the handler's own promise, which settles once the reply
  // is handed to the socket: a listener per response would cost every request an allocation.
  const settled = () => {
    inFlight -= 1;
    if (draining && inFlight === 0) drained?.();
  };
  const onRequest = (req: NodeRequest, res: NodeResponse) => {
    inFlight += 1;
    // While draining, tell keep-alive clients not to reuse this connection (HTTP/2 got a GOAWAY).
    if (draining && !isHttp2(req)) res.setHeader('connection', 'close');
    if (limits !== undefined) {
      watchBodyIdle(req, res, limits.bodyTimeout);
      watchRequestTime(req, limits.requestTimeout);
    }
    handler(req, res).then(settled, (err: unknown) => {
      settled();
      // The pipeline answers its own errors; reaching here means writing the reply failed, maybe
      // with headers (a Content-Length) already set for a body that will not come.
      log.error('nova-ts: writing the reply failed', err);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      (res as ServerResponse).writeHead(500, { 'content-length': '0' }).end();
    });
  };
  const server = (
    options.tls === undefined
      ? createServer(limits === undefined ? {} : http1Limits(limits), onRequest as (req: IncomingMessage, res: ServerResponse) => void)
      : createSecureServer(
          {
            ...options.tls,
            allowHTTP1: true,
            // A TLS handshake is part of getting the request's head in.
            ...(limits !== undefined ? { handshakeTimeout: limits.headersTimeout, settings: { maxHeaderListSize: limits.maxHeaderSize } } : {}),
          },
          onRequest as (req: Http2ServerRequest, res: Http2ServerResponse) => void,
        )
  ) as NovaServer;
  if (limits !== undefined) {
    server.maxConnections = limits.maxConnections;
    // The HTTP/2 server reads its HTTP/1.1 fallback's limits from these properties, which its
    // constructor does not take (and it leaves keep-alive connections without any timeout).
    if (options.tls !== undefined) Object.assign(server, http1Limits(limits));
  }
  const sessions = trackSessions(server, limits?.keepAliveTimeout);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  let closing: Promise<void> | undefined;
  return {
    server,
    close(timeoutMs) {
      closing ??= new Promise<void>((resolve) => {
        draining = true;
        const closed = new Promise<void>((r) => server.close(() => r()));
        const idle = inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => (drained = r));
        // HTTP/2 sessions get a GOAWAY: no new streams, and each closes once its streams are done.
        for (const session of sessions) session.close();
        // Keep-alive connections go quiet one by one (a streamed file may still be flowing after
        // its handler settled): close each as soon as it is idle, and everything at the deadline.
        const sweep = setInterval(() => server.closeIdleConnections(), 25);
        const deadline = setTimeout(() => {
          // Handlers still running past the deadline are cut off; their replies have nowhere to go.
          // (The HTTP/2 server has no closeAllConnections of its own for its HTTP/1.1 connections.)
          HttpServer.prototype.closeAllConnections.call(server);
          for (const session of sessions) session.destroy();
          drained?.();
        }, timeoutMs);
        server.closeIdleConnections();
        void idle
          .then(() => closed)
          .then(() => {
            clearInterval(sweep);
            clearTimeout(deadline);
            resolve();
          });
      });
      return closing;
    },
  };
}

/** `config.server` as `node:http` options. */
function http1Limits(limits: ServerLimits) {
  return {
    headersTimeout: limits.headersTimeout,
    requestTimeout: limits.requestTimeout,
    keepAliveTimeout: limits.keepAliveTimeout,
    maxHeaderSize: limits.maxHeaderSize,
    // Node checks the two timeouts on this interval (30 s by default), so a 10 s headersTimeout
    // could take 40 s to bite: check a few times per shortest timeout, at most once a second.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(Math.min(limits.headersTimeout, limits.requestTimeout) / 4))),
  };
}

/**
 * The live HTTP/2 sessions, for shutdown; each one idle for `keepAliveTimeout` is closed
 * gracefully (GOAWAY; streams in flight still finish), like an idle HTTP/1.1 keep-alive connection.
 */
function trackSessions(server: NovaServer, keepAliveTimeout: number | undefined): Set<Http2Session> {
  const sessions = new Set<Http2Session>();
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    if (keepAliveTimeout !== undefined) session.setTimeout(keepAliveTimeout, () => session.close());
  });
  return sessions;
}

/**
 * Close the app gracefully on SIGTERM or SIGINT, then exit. A second signal exits at once.
 *
 * @example
 * ```ts
 * await app.listen();
 * closeOnSignals(app);
 * ```
 */
export function closeOnSignals(app: { close(): Promise<void> }, log: Pick<Console, 'info' | 'error'> = console): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info(`${signal} received: draining in-flight requests`);
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
