import type { Context } from '../context.js';
import type { Plugin } from '../plugins/plugin.js';
import type { ControllerResult } from '../results/result.js';
import type { SecurityHeadersOptions } from '../results/security-headers.js';
import type { AuthDataOf, SecurityFunction } from '../security/security.js';

/** A controller: takes the request context, returns a result value. */
// biome-ignore lint/suspicious/noExplicitAny: a controller typed without auth data accepts a context carrying any
export type Controller<A = any> = (ctx: Context<A>) => ControllerResult | Promise<ControllerResult>;

/** The name a controller without one (an inline arrow) goes by in the route table. */
export const UNNAMED_CONTROLLER = 'anonymous';

/** The method names a route may list: lowercase, as in Nova. */
export const METHODS = ['get', 'post', 'put', 'delete', 'options', 'head', 'connect', 'trace', 'patch'] as const;
export type Method = (typeof METHODS)[number];

export interface RouteOptions {
  /** Lowercase method names. Omitted: every method (Nova's default). */
  methods?: readonly Method[];
}

/**
 * One route, as a tuple like Nova's: `[path, controller, options?]`, or a status page
 * `[status, controller]` (Nova's `{404, fun …}`) that renders that status wherever it arises.
 */
// biome-ignore lint/suspicious/noExplicitAny: as Controller: a route typed without auth data holds any controller
export type Route<A = any> = readonly [path: string, controller: Controller<A>, options?: RouteOptions] | readonly [status: number, controller: Controller<A>];

/**
 * A route group (Nova's route map): a prefix, a security function, plugins and routes.
 *
 * @example
 * ```ts
 * const groups: RouteGroup[] = [
 *   { prefix: '', security: false, routes: [['/heartbeat', () => status(200), { methods: ['get'] }]] },
 *   { prefix: '/admin', security: sessionAuth, routes: [['/', admin.index, { methods: ['get'] }]] },
 *   // Any site's pages may post here: cross-origin protection does not check this group.
 *   { prefix: '/hooks', crossOrigin: false, routes: [['/form', hooks.form, { methods: ['post'] }]] },
 * ];
 * ```
 */
export interface RouteGroup {
  prefix?: string;
  /** `false` (or omitted) for public routes, otherwise the group's security function. */
  security?: false | SecurityFunction;
  /** Run after the app's global plugins, for this group's routes only. */
  plugins?: readonly Plugin[];
  /**
   * Security headers for this group's routes, over the app's `securityHeaders`: `false` sends
   * none, an object changes the headers it names (`{ 'x-frame-options': false }` for a widget
   * other sites may frame).
   */
  securityHeaders?: false | SecurityHeadersOptions;
  /**
   * `false` exempts the group's routes from cross-origin protection: browsers on any site may send
   * them POST, PUT, PATCH, DELETE (a public API, a form other sites post to). Default: protected.
   */
  crossOrigin?: boolean;
  routes: readonly Route[];
}

/**
 * A route group whose controllers see the type of what its security function allows: with
 * `security: sessionAuth` returning `allow({ username })`, `ctx.authData.username` is a string in
 * every controller of the group, and a controller expecting other auth data is a compile error.
 *
 * @example
 * ```ts
 * routeGroup({
 *   security: sessionAuth,
 *   routes: [['/me', (ctx) => json({ name: ctx.authData.username }), { methods: ['get'] }]],
 * });
 * ```
 */
export function routeGroup<S extends false | SecurityFunction>(group: {
  prefix?: string;
  security: S;
  plugins?: readonly Plugin[];
  securityHeaders?: false | SecurityHeadersOptions;
  crossOrigin?: boolean;
  routes: readonly Route<S extends false ? undefined : AuthDataOf<S>>[];
}): RouteGroup {
  return group as RouteGroup;
}

/** Nova's `routes/1`: the route table for an environment (`config.environment`). */
export type RoutesFunction = (environment: string) => RouteGroup[];
