import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface RunningServer {
  readonly server: Server;
  /** Stop accepting, drain in-flight requests (at most `timeoutMs`), then close every connection. */
  close(timeoutMs: number): Promise<void>;
}

/**
 * Listen on `node:http` and keep count of in-flight requests so shutdown can drain them.
 *
 * @example
 * ```ts
 * const running = await startServer(app.handle, { port: 8080, host: '127.0.0.1' });
 * await running.close(15_000);
 * ```
 */
export async function startServer(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  options: { port: number; host: string; log?: Pick<Console, 'error'> },
): Promise<RunningServer> {
  const log = options.log ?? console;
  let inFlight = 0;
  let draining = false;
  let drained: (() => void) | undefined;
  // In-flight requests are counted on the handler's own promise, which settles once the reply
  // is handed to the socket: a listener per response would cost every request an allocation.
  const settled = () => {
    inFlight -= 1;
    if (draining && inFlight === 0) drained?.();
  };
  const server = createServer((req, res) => {
    inFlight += 1;
    // While draining, tell keep-alive clients not to reuse this connection.
    if (draining) res.setHeader('connection', 'close');
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
      res.writeHead(500, { 'content-length': '0' }).end();
    });
  });
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
        // Keep-alive connections go quiet one by one (a streamed file may still be flowing after
        // its handler settled): close each as soon as it is idle, and everything at the deadline.
        const sweep = setInterval(() => server.closeIdleConnections(), 25);
        const deadline = setTimeout(() => {
          // Handlers still running past the deadline are cut off; their replies have nowhere to go.
          server.closeAllConnections();
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
