import FindMyWay from 'find-my-way';
import { errors, NovaError } from '../errors.js';
import type { Plugin } from '../plugins/plugin.js';
import {
  compileSecurityHeaders,
  DEFAULT_SECURITY_HEADERS,
  resolveSecurityHeaders,
  type ResolvedSecurityHeaders,
  type SecurityHeaderSet,
} from '../results/security-headers.js';
import { compileCrossOrigin, type CrossOriginPolicy, type CrossOriginSettings } from '../security/cross-origin.js';
import type { SecurityFunction } from '../security/security.js';
import { checkPluginOrder } from '../plugins/plugin-order.js';
import type { Logger } from '../config.js';
import { staticTarget } from '../static/static-files.js';
import { checkGroupShape, checkRouteOptions } from './route-shape.js';
import { METHODS, UNNAMED_CONTROLLER, type Controller, type Route, type RouteGroup } from './routes.js';

/** A route after compilation: everything the pipeline needs, resolved once at start-up. */
export interface CompiledRoute {
  readonly path: string;
  readonly controller: Controller;
  readonly controllerName: string;
  readonly security: SecurityFunction | false;
  /** Global plugins followed by the group's. */
  readonly plugins: readonly Plugin[];
  /** Those of `plugins` with a pre-request hook, resolved once so the hot path skips empty phases. */
  readonly pre: readonly Plugin[];
  /** Those of `plugins` with a post-request hook. */
  readonly post: readonly Plugin[];
  /** The group's security headers over the app's, compiled once. */
  readonly securityHeaders: SecurityHeaderSet;
  /** What cross-origin protection checks on this route; `false` for nothing. */
  readonly crossOrigin: CrossOriginPolicy;
  /** A `staticFiles`/`staticFile` route: the pipeline skips the session step for it. */
  readonly static: boolean;
}

/** A status page (Nova's `{404, fun …}` route): renders that status wherever it arises. */
export interface StatusPage {
  readonly controller: Controller;
  readonly controllerName: string;
  readonly plugins: readonly Plugin[];
}

/** One row of `Router.describe()`. */
export interface RouteDescription {
  /** Upper-case methods; empty for a status page. */
  methods: string[];
  path: string;
  /** Set for a status page (`[404, controller]`), whose `path` is the status. */
  status?: number;
  security: string;
  controller: string;
  plugins: string[];
}

export type Match =
  | { readonly kind: 'found'; readonly route: CompiledRoute; readonly bindings: Record<string, string> }
  | { readonly kind: 'method-not-allowed'; readonly allow: readonly string[]; readonly routes: readonly CompiledRoute[] }
  | { readonly kind: 'not-found' };

const UPPER_METHODS = METHODS.map((m) => m.toUpperCase());
const STATIC_METHODS = ['GET', 'HEAD'];

export interface RouterOptions {
  /** The app's security headers (`config.securityHeaders`, resolved). Default: the built-in set. */
  readonly securityHeaders?: ResolvedSecurityHeaders;
  /** The app's cross-origin protection (`config.crossOrigin` with `trustProxy`). Default: on, nothing trusted. */
  readonly crossOrigin?: CrossOriginSettings;
  /** Where start-up warnings go (`config.logger`). Default: `console`. */
  readonly logger?: Pick<Logger, 'warn'>;
}

/**
 * The route table: Nova's route groups compiled onto find-my-way. Routes can be added while the
 * app runs; a bad route is a start-up error (`NOVA_ERR_ROUTE_*`), never a silent widening.
 *
 * @example
 * ```ts
 * const router = new Router([]);
 * router.add([{ prefix: '/api', routes: [['/users/:id', users.show, { methods: ['get'] }]] }]);
 * router.find('GET', '/api/users/7'); // { kind: 'found', bindings: { id: '7' }, … }
 * ```
 */
export class Router {
  // Paths arrive normalised (`ctx.path`, see request-path.ts): find-my-way must not normalise them
  // again, or it would match a path other than the one plugins checked.
  readonly #fmw = FindMyWay({ ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, maxParamLength: 500 });
  readonly #globalPlugins: readonly Plugin[];
  readonly #securityHeaders: ResolvedSecurityHeaders;
  readonly #crossOrigin: CrossOriginSettings;
  readonly #statusPages = new Map<number, StatusPage>();
  /** path → method → route, kept to answer 405 with `Allow` without probing every method. */
  readonly #byPath = new Map<string, Map<string, CompiledRoute>>();
  readonly #groupPlugins = new Set<Plugin>();
  /** Paths whose HEAD was added for their GET route, and may still be claimed by a HEAD route. */
  readonly #implicitHead = new Set<string>();
  readonly #warned = new Set<string>();
  readonly #logger: Pick<Logger, 'warn'>;
  /** Each start-up warning once, however many groups repeat the cause. */
  readonly #warnOnce = (message: string): void => {
    if (this.#warned.has(message)) return;
    this.#warned.add(message);
    this.#logger.warn(message);
  };

  /** `options.securityHeaders`: the app's (`config.securityHeaders`, resolved), which each group's setting changes. */
  constructor(globalPlugins: readonly Plugin[], options: RouterOptions = {}) {
    this.#globalPlugins = globalPlugins;
    this.#securityHeaders = options.securityHeaders ?? DEFAULT_SECURITY_HEADERS;
    this.#crossOrigin = options.crossOrigin ?? { trustedOrigins: [], trustProxy: false };
    this.#logger = options.logger ?? console;
  }

  /** Compile and register route groups. Validates everything before registering anything. */
  add(groups: readonly RouteGroup[]): void {
    const pending: Array<{ methods: readonly string[]; route: CompiledRoute }> = [];
    const pages: Array<[number, StatusPage]> = [];
    groups.forEach((group, gi) => {
      if (typeof group !== 'object' || group === null || !Array.isArray(group.routes)) {
        throw errors.routeInvalid(`group #${gi}`, 'a route group needs a `routes` array');
      }
      checkGroupShape(group, `group #${gi}`);
      const security = group.security ?? false;
      if (security !== false && typeof security !== 'function') {
        throw errors.routeInvalid(`group #${gi}`, '`security` must be false or a function');
      }
      if (group.crossOrigin !== undefined && typeof group.crossOrigin !== 'boolean') {
        throw errors.routeInvalid(`group #${gi}`, '`crossOrigin` must be true or false');
      }
      const plugins = [...this.#globalPlugins, ...(group.plugins ?? [])];
      checkPluginOrder(plugins, this.#warnOnce);
      const pre = plugins.filter((p) => typeof p.preRequest === 'function');
      const post = plugins.filter((p) => typeof p.postRequest === 'function');
      const headers = resolveSecurityHeaders(group.securityHeaders, this.#securityHeaders);
      if ('invalid' in headers) throw errors.routeInvalid(`group #${gi}`, `securityHeaders ${headers.invalid}`);
      const securityHeaders = compileSecurityHeaders(headers);
      for (const [ri, entry] of group.routes.entries()) {
        const where = `#${ri} of group #${gi}`;
        const [target, controller, options] = entry as Route;
        if (typeof controller !== 'function') throw errors.routeInvalid(where, 'the controller must be a function');
        checkRouteOptions(options, typeof target === 'string' ? `"${target}" (${where})` : where);
        const controllerName = controller.name || UNNAMED_CONTROLLER;
        if (typeof target === 'number') {
          if (!Number.isInteger(target) || target < 400 || target > 599) {
            throw errors.routeInvalid(where, `a status page needs a status from 400 to 599, got ${target}`);
          }
          pages.push([target, { controller, controllerName, plugins }]);
          continue;
        }
        if (typeof target !== 'string') throw errors.routeInvalid(where, 'the path must be a string or a status code');
        const path = joinPath(group.prefix ?? '', target);
        const served = staticTarget(controller);
        served?.check(path);
        // A static file is read, never written: GET and HEAD unless the route says otherwise.
        const methods = resolveMethods(path, options?.methods, served === undefined ? UPPER_METHODS : STATIC_METHODS);
        const crossOrigin = compileCrossOrigin(this.#crossOrigin, group.crossOrigin, plugins, methods);
        const route = { path, controller, controllerName, security, plugins, pre, post, securityHeaders, crossOrigin, static: served !== undefined };
        pending.push({ methods, route });
        // Cowboy's `[...]` matches zero segments too: `/assets` (and `/assets/`, which arrives as
        // `/assets`) is the directory itself, answered with its index.html.
        if (served?.kind === 'directory') pending.push({ methods, route: { ...route, path: path.slice(0, -2) || '/' } });
      }
    });
    for (const { methods, route } of pending) this.#register(methods, route);
    for (const [status, page] of pages) this.#statusPages.set(status, page);
    for (const group of groups) for (const plugin of group.plugins ?? []) this.#groupPlugins.add(plugin);
  }

  /** Every plugin a group brought in, so the app can start and stop them. */
  plugins(): Plugin[] {
    return [...this.#groupPlugins];
  }

  /**
   * The route for `method` and `path`. `path` must be normalised as `ctx.path` is (no `//`, no
   * trailing slash, escapes decoded but for the reserved ones): it is matched as given.
   */
  find(method: string, path: string): Match {
    const hit = this.#fmw.find(method as FindMyWay.HTTPMethod, path);
    if (hit !== null) {
      return { kind: 'found', route: hit.store as CompiledRoute, bindings: hit.params as Record<string, string> };
    }
    // A miss is rare on a healthy site: only now find out whether the path exists for other methods.
    const routes: CompiledRoute[] = [];
    const allow: string[] = [];
    for (const m of UPPER_METHODS) {
      const other = this.#fmw.find(m as FindMyWay.HTTPMethod, path);
      if (other !== null) {
        allow.push(m);
        routes.push(other.store as CompiledRoute);
      }
    }
    return allow.length === 0 ? { kind: 'not-found' } : { kind: 'method-not-allowed', allow, routes };
  }

  statusPage(status: number): StatusPage | undefined {
    return this.#statusPages.get(status);
  }

  /** The compiled table, for printing and tests: `[METHOD, path, controllerName]`. */
  table(): Array<[string, string, string]> {
    const rows: Array<[string, string, string]> = [];
    for (const [path, byMethod] of this.#byPath) {
      for (const [method, route] of byMethod) rows.push([method, path, route.controllerName]);
    }
    return rows;
  }

  /**
   * The compiled table as `nova-ts routes` prints it: one row per route (its methods together),
   * in the order the routes were added, then the status pages. `security` is the security
   * function's name or `"public"`; `plugins` are the names of the global and group plugins.
   *
   * @example
   * ```ts
   * app.router.describe();
   * // [{ methods: ['GET', 'HEAD'], path: '/', security: 'public', controller: 'index', plugins: ['request'] }]
   * ```
   */
  describe(): RouteDescription[] {
    const rows = new Map<CompiledRoute, RouteDescription>();
    for (const [path, byMethod] of this.#byPath) {
      for (const [method, route] of byMethod) {
        const row = rows.get(route);
        if (row !== undefined) {
          row.methods.push(method);
          continue;
        }
        rows.set(route, {
          methods: [method],
          path,
          security: route.security === false ? 'public' : route.security.name || UNNAMED_CONTROLLER,
          controller: route.controllerName,
          plugins: route.plugins.map((p) => p.name),
        });
      }
    }
    const pages = [...this.#statusPages].map(
      ([status, page]): RouteDescription => ({
        methods: [],
        path: String(status),
        status,
        security: 'public',
        controller: page.controllerName,
        plugins: page.plugins.map((p) => p.name),
      }),
    );
    return [...rows.values(), ...pages];
  }

  #register(methods: readonly string[], route: CompiledRoute): void {
    const byMethod = this.#byPath.get(route.path) ?? new Map<string, CompiledRoute>();
    for (const method of methods) {
      if (byMethod.has(method) && !(method === 'HEAD' && this.#implicitHead.has(route.path))) {
        throw errors.routeDuplicate(method, route.path);
      }
    }
    if (methods.includes('HEAD') && this.#implicitHead.delete(route.path)) {
      this.#fmw.off('HEAD', route.path);
      byMethod.delete('HEAD');
    }
    // GET answers HEAD too (Node drops the body), unless HEAD has its own route.
    const implicitHead = methods.includes('GET') && !methods.includes('HEAD') && !byMethod.has('HEAD');
    if (implicitHead) this.#implicitHead.add(route.path);
    const withHead = implicitHead ? [...methods, 'HEAD'] : methods;
    for (const method of withHead) {
      try {
        this.#fmw.on(method as FindMyWay.HTTPMethod, route.path, noop, route);
      } catch (err) {
        if (err instanceof NovaError) throw err;
        throw errors.routeInvalid(`"${route.path}"`, (err as Error).message);
      }
      byMethod.set(method, route);
    }
    this.#byPath.set(route.path, byMethod);
  }
}

function noop(): void {}

function resolveMethods(path: string, methods: unknown, defaults: readonly string[]): readonly string[] {
  if (methods === undefined) return defaults;
  if (!Array.isArray(methods) || methods.length === 0) {
    throw errors.routeInvalid(`"${path}"`, '`methods` must be a non-empty array of lowercase method names');
  }
  return methods.map((m: unknown) => {
    if (typeof m !== 'string' || !(METHODS as readonly string[]).includes(m)) throw errors.routeMethod(path, String(m), METHODS);
    return m.toUpperCase();
  });
}

/** Nova's prefix concatenation: empty segments and a trailing slash do not count; `[...]` is a wildcard. */
export function joinPath(prefix: string, path: string): string {
  if (typeof prefix !== 'string') throw errors.routeInvalid(`"${String(prefix)}"`, 'the group prefix must be a string');
  const segments = `${prefix}/${path}`.split('/').filter((s) => s !== '');
  const last = segments.at(-1);
  if (last === '[...]') segments[segments.length - 1] = '*';
  if (segments.some((s, i) => s === '[...]' && i < segments.length - 1)) {
    throw errors.routeInvalid(`"${path}"`, 'a [...] wildcard must be the last segment');
  }
  return `/${segments.join('/')}`;
}
