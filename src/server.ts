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
  options: { port: number; host: string },
): Promise<RunningServer> {
  let inFlight = 0;
  let draining = false;
  let drained: (() => void) | undefined;
  const server = createServer((req, res) => {
    inFlight += 1;
    // While draining, tell keep-alive clients not to reuse this connection.
    if (draining) res.setHeader('connection', 'close');
    res.once('close', () => {
      inFlight -= 1;
      if (draining && inFlight === 0) drained?.();
    });
    handler(req, res).catch((err: unknown) => {
      // The pipeline answers its own errors; reaching here means writing the reply failed.
      console.error('nova-ts: request handler failed', err);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
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
        server.closeIdleConnections();
        const idle = inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => (drained = r));
        const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
        void idle.then(() => {
          server.closeIdleConnections();
          return closed;
        }).then(() => {
          clearTimeout(timer);
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
