// `nova-ts routes [module]`: an app's compiled route table, as Nova's `rebar3 nova routes` prints it.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { errors, withCause } from '../errors.js';
import { Router, type RouteDescription } from '../router/router.js';
import type { RouteGroup } from '../router/routes.js';

export interface RoutesOptions {
  /** The module; default: package.json's `"nova": { "routes": … }` in `cwd`. */
  readonly module?: string | undefined;
  /** Passed to a routes function, as `config.environment` is. Default `dev`. */
  readonly environment?: string;
  readonly cwd?: string;
}

/** The exports looked at, in this order. */
const EXPORTS = ['app', 'routes', 'default'] as const;
const LOOKED_FOR = 'an `app` export (an App), a `routes` export or a default export (route groups, a routes(environment) function or an App)';

interface AppLike {
  router: { describe(): RouteDescription[] };
}

function isApp(value: unknown): value is AppLike {
  const router = (value as { router?: { describe?: unknown } } | null)?.router;
  return typeof value === 'object' && value !== null && typeof router?.describe === 'function';
}

/** Which module to load: the one given, or the one the app's package.json names. */
export function routesModulePath(options: RoutesOptions = {}): string {
  const cwd = options.cwd ?? process.cwd();
  if (options.module !== undefined) return resolve(cwd, options.module);
  const manifestPath = join(cwd, 'package.json');
  let field: unknown;
  try {
    field = (JSON.parse(readFileSync(manifestPath, 'utf8')) as { nova?: { routes?: unknown } }).nova?.routes;
  } catch {
    throw errors.cliRoutesModule(
      `no module given, and no package.json in ${cwd} to find one in (its "nova": { "routes": "dist/router.js" } field); run it in the app's folder or name the module`,
    );
  }
  if (typeof field !== 'string') {
    throw errors.cliRoutesModule(
      `no module given, and ${manifestPath} has no "nova": { "routes": "<module>" } field (for example "dist/router.js"); add it or name the module`,
    );
  }
  return resolve(cwd, field);
}

/**
 * Load a module and compile its routes, as an app would: an App's own router, or a fresh one for
 * route groups (without an app's global plugins, which only an App knows).
 *
 * @example
 * ```ts
 * const rows = await loadRoutes({ module: 'dist/router.js' });
 * console.log(formatRoutes(rows));
 * ```
 */
export async function loadRoutes(options: RoutesOptions = {}): Promise<RouteDescription[]> {
  const path = routesModulePath(options);
  const environment = options.environment ?? 'dev';
  if (!existsSync(path)) {
    throw errors.cliRoutesModule(`the routes module ${path} does not exist${path.includes('dist') ? ' (build the app first: npm run build)' : ''}`);
  }
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    throw withCause(errors.cliRoutesModule(`could not load ${path}: ${err instanceof Error ? err.message : String(err)}`), err);
  }
  const name = EXPORTS.find((n) => module[n] !== undefined);
  if (name === undefined) throw errors.cliRoutesModule(`${path} exports no routes: looked for ${LOOKED_FOR}`);
  let value = module[name];
  if (typeof value === 'function') {
    try {
      // A routes function gets the environment only; one that needs more (the example's takes
      // readiness and plugins) can be given the rest by exporting the App instead.
      value = await (value as (environment: string) => unknown)(environment);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw withCause(
        errors.cliRoutesModule(
          `the \`${name}\` export of ${path} threw when called as routes("${environment}"): ${message}; export a routes(environment) function that needs nothing else, or the App`,
        ),
        err,
      );
    }
  }
  if (isApp(value)) return value.router.describe();
  if (!Array.isArray(value)) {
    throw errors.cliRoutesModule(
      `the \`${name}\` export of ${path} is neither route groups, a routes function returning them, nor an App; looked for ${LOOKED_FOR}`,
    );
  }
  const router = new Router([], { logger: { warn() {} } });
  router.add(value as RouteGroup[]);
  return router.describe();
}

const ALL_METHODS = 9;

/** The rows as an aligned table: METHOD, PATH, SECURITY, CONTROLLER, PLUGINS. */
export function formatRoutes(rows: readonly RouteDescription[]): string {
  const header = ['METHOD', 'PATH', 'SECURITY', 'CONTROLLER', 'PLUGINS'];
  const cells = rows.map((row) => [
    row.status !== undefined ? 'STATUS' : row.methods.length === ALL_METHODS ? 'ANY' : row.methods.join(','),
    row.path,
    row.security,
    row.controller,
    row.plugins.length === 0 ? '-' : row.plugins.join(','),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [header, ...cells].map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}
