import { loadConfig, type NovaConfig, type NovaConfigInput } from './config.js';
import { handleRequest, type Runtime } from './pipeline.js';
import { SessionManager } from './session/manager.js';
import type { Plugin } from './plugins/plugin.js';
import { compileSecurityHeaders, resolveSecurityHeaders, type ResolvedSecurityHeaders } from './results/security-headers.js';
import { Router } from './router/router.js';
import type { RouteGroup } from './router/routes.js';
import type { NodeRequest, NodeResponse } from './node-http.js';
import { startServer, type NovaServer, type RunningServer } from './server.js';
import { createViewEngine } from './views/views.js';

/**
 * A Nova.ts application: configuration, route table, plugins and sessions, ready to serve.
 *
 * @example
 * ```ts
 * const app = createApp({ port: 8080, routes: () => [{ routes: [['/heartbeat', () => status(200)]] }] });
 * await app.listen();
 * ```
 */
export interface App {
  readonly config: NovaConfig;
  readonly router: Router;
  /** The session manager (and through it the store), unless `useSessions` is false. */
  readonly sessions: SessionManager | undefined;
  /** The running server, once `listen` resolved: `node:http`'s, or with `tls` `node:http2`'s secure server. */
  readonly server: NovaServer | undefined;
  /**
   * The request handler, for mounting on a server you made yourself (call `start` first). The
   * `server` limits (timeouts, connections) are then yours to set on that server.
   */
  handle(req: NodeRequest, res: NodeResponse): Promise<void>;
  /** Add route groups while the app runs; plugins they bring are started first if the app is. */
  addRoutes(groups: readonly RouteGroup[]): Promise<void>;
  /** Start plugins and sessions without listening (for tests and custom servers). */
  start(): Promise<void>;
  /**
   * Start, then listen on `config.port`/`config.host` (or the given ones) with `config.server`'s
   * limits; with `config.tls`, HTTPS with HTTP/2 and HTTP/1.1. Resolves once listening.
   */
  listen(port?: number, host?: string): Promise<NovaServer>;
  /** Stop accepting, let in-flight requests finish (up to `shutdownTimeout`), stop plugins and sessions. */
  close(): Promise<void>;
  /**
   * Whether this node should get traffic now, for a load balancer's readiness check: started, not
   * closing, and the session store ready (a replicated store is not while it is fenced off from its
   * cluster or catching up). Synchronous and cheap, so it may be asked on every probe. Liveness is
   * another question: a node that is not ready is still alive and will be ready again by itself.
   *
   * @example
   * ```ts
   * const app = createApp({
   *   routes: () => [{ routes: [['/ready', () => {
   *     const { ready, reasons } = app.readiness();
   *     return json(ready ? { ready } : { ready, reasons }, { status: ready ? 200 : 503 });
   *   }]] }],
   * });
   * ```
   */
  readiness(): AppReadiness;
}

/** The answer of `app.readiness()`. */
export interface AppReadiness {
  ready: boolean;
  /** Why not, one line per cause (empty when ready); safe to show: nothing secret. */
  reasons: string[];
}

/**
 * Makes an app from its configuration, checked at once: a bad value throws a `NovaError` naming
 * its key. Nothing starts until `start()` or `listen()` (or the first `inject` of `nova-ts/testing`).
 *
 * @example
 * ```ts
 * const app = createApp({
 *   session: { secrets: [process.env.SESSION_SECRET!] },
 *   routes: () => [{ routes: [['/heartbeat', () => status(200), { methods: ['get'] }]] }],
 * });
 * await app.listen();
 * ```
 */
export function createApp(input: NovaConfigInput): App {
  const config = loadConfig(input);
  // Validated by loadConfig already, so this resolves.
  const securityHeaders = resolveSecurityHeaders(config.securityHeaders) as ResolvedSecurityHeaders;
  const crossOrigin = config.crossOrigin && { ...config.crossOrigin, trustProxy: config.trustProxy };
  const router = new Router(config.plugins, { securityHeaders, crossOrigin, logger: config.logger });
  router.add(typeof config.routes === 'function' ? config.routes(config.environment) : config.routes);
  const sessions = config.useSessions ? new SessionManager(config) : undefined;
  const rt: Runtime = {
    config,
    router,
    respond: {
      views: config.views ? createViewEngine({ dir: config.views.dir, extension: config.views.extension }) : undefined,
      fallback: config.fallbackController,
    },
    sessions,
    securityHeaders: compileSecurityHeaders(securityHeaders),
    log: config.logger,
  };
  const plugins = allPlugins(config.plugins, router);
  let running: RunningServer | undefined;
  let started: Promise<void> | undefined;
  // Flags read by readiness(): set when start() has finished, and from the first call of close().
  let startedUp = false;
  let closing = false;

  const app: App = {
    config,
    router,
    sessions,
    get server() {
      return running?.server;
    },
    handle: (req, res) => handleRequest(rt, req, res),
    async addRoutes(groups) {
      // New plugins are ready before any request can reach the routes that use them.
      if (started !== undefined) {
        await started;
        const known = new Set(plugins());
        const fresh = new Set(groups.flatMap((g) => g.plugins ?? []).filter((p) => !known.has(p)));
        for (const plugin of fresh) await plugin.init?.();
      }
      router.add(groups);
    },
    start() {
      started ??= (async () => {
        await sessions?.start();
        for (const plugin of plugins()) await plugin.init?.();
        startedUp = true;
      })();
      return started;
    },
    async listen(port = config.port, host = config.host) {
      await app.start();
      running = await startServer(app.handle, {
        port,
        host,
        log: config.logger,
        limits: config.server,
        ...(config.tls !== undefined ? { tls: config.tls } : {}),
      });
      return running.server;
    },
    async close() {
      closing = true;
      await running?.close(config.shutdownTimeout);
      for (const plugin of plugins()) {
        try {
          await plugin.stop?.();
        } catch (err) {
          config.logger.error(`plugin "${plugin.name}" failed to stop`, err);
        }
      }
      await sessions?.stop();
    },
    readiness() {
      const reasons: string[] = [];
      if (closing) reasons.push('closing');
      else if (!startedUp) reasons.push('starting');
      const store = sessions?.store;
      if (store?.readiness !== undefined) {
        // A check that throws must not break the probe that asked: it counts as "not ready".
        let answer: ReturnType<NonNullable<typeof store.readiness>>;
        try {
          answer = store.readiness();
        } catch {
          answer = { ready: false, reason: 'readiness check failed' };
        }
        if (!answer.ready) reasons.push(`session store: ${answer.reason ?? 'not ready'}`);
      }
      return { ready: reasons.length === 0, reasons };
    },
  };
  return app;
}

/** Global plugins and every group's, each once, in a stable order. */
function allPlugins(global: readonly Plugin[], router: Router): () => Plugin[] {
  return () => [...new Set([...global, ...router.plugins()])];
}

export type { Plugin };
