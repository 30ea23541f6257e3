import type { Context } from '../context.js';
import type { Plugin } from '../plugins/plugin.js';
import type { ControllerResult } from '../results/result.js';
import type { SecurityFunction } from '../security/security.js';

/** A controller: takes the request context, returns a result value. */
export type Controller = (ctx: Context) => ControllerResult | Promise<ControllerResult>;

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
export type Route = readonly [path: string, controller: Controller, options?: RouteOptions] | readonly [status: number, controller: Controller];

/**
 * A route group (Nova's route map): a prefix, a security function, plugins and routes.
 *
 * @example
 * ```ts
 * const groups: RouteGroup[] = [
 *   { prefix: '', security: false, routes: [['/heartbeat', () => status(200), { methods: ['get'] }]] },
 *   { prefix: '/admin', security: sessionAuth, routes: [['/', admin.index, { methods: ['get'] }]] },
 * ];
 * ```
 */
export interface RouteGroup {
  prefix?: string;
  /** `false` (or omitted) for public routes, otherwise the group's security function. */
  security?: false | SecurityFunction;
  /** Run after the app's global plugins, for this group's routes only. */
  plugins?: readonly Plugin[];
  routes: readonly Route[];
}

/** Nova's `routes/1`: the route table for an environment (`config.environment`). */
export type RoutesFunction = (environment: string) => RouteGroup[];
