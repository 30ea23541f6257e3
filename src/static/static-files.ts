import { realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from '../context.js';
import { errors } from '../errors.js';
import type { Controller } from '../router/routes.js';
import type { StaticFileResult } from '../results/result.js';
import { resolveStaticFile } from './resolve.js';

/** Options of {@link staticFiles} and {@link staticFile}. */
export interface StaticOptions {
  /**
   * Seconds browsers and shared caches may keep a file without asking again: `Cache-Control:
   * public, max-age=<maxAge>`. Default 0 (they keep it, and revalidate it each time: a 304 while
   * it has not changed). A year at most: a larger number is most likely milliseconds.
   */
  maxAge?: number;
  /** Add `immutable` to `Cache-Control`, for fingerprinted names (`app.3f9a1c.css`) that never change. Default false. */
  immutable?: boolean;
  /** `'ignore'` (default): a path with a segment starting with `.` (`.env`, `.git/config`) is a 404. `'allow'` serves them. */
  dotfiles?: 'ignore' | 'allow';
  /** The file a directory serves (`staticFiles` only). Default `'index.html'`; `false` for none (a 404). */
  index?: string | false;
}

/** The options a static route runs with, checked and defaulted. */
export interface ResolvedStaticOptions {
  readonly maxAgeSeconds: number;
  readonly immutable: boolean;
  readonly dotfiles: boolean;
  readonly index: string | undefined;
}

/** What the router reads off a static route's controller. */
export interface StaticTarget {
  readonly kind: 'directory' | 'file';
  /** Absolute path, as given (before symlinks are resolved). */
  readonly path: string;
  /** Refuse a route that cannot work, at start-up: a missing root, or a directory not under `/[...]`. */
  check(routePath: string): void;
}

const STATIC = Symbol('nova.static');
const OPTION_KEYS = ['maxAge', 'immutable', 'dotfiles', 'index'] as const;
const YEAR_SECONDS = 365 * 24 * 60 * 60;

/** The static target of a controller made by `staticFiles`/`staticFile`, or `undefined` for any other. */
export function staticTarget(controller: Controller): StaticTarget | undefined {
  return (controller as { [STATIC]?: StaticTarget })[STATIC];
}

/**
 * Serve a directory (Nova's `{"/assets/[...]", "assets"}`): the controller of a route whose path
 * ends in `/[...]`; the rest of the path names a file below `dir`. ETag and Last-Modified with
 * 304, byte ranges, `index.html` for a directory, `Cache-Control`, a content type by extension.
 * Nothing outside `dir` is ever served, nor dotfiles by default. The route answers GET and HEAD
 * unless it lists methods, and skips the session step: no session, no cookie, cacheable.
 *
 * @example
 * ```ts
 * const routes: RouteGroup[] = [
 *   { routes: [['/assets/[...]', staticFiles(new URL('./public', import.meta.url), { maxAge: 3600 })]] },
 * ];
 * ```
 */
export function staticFiles(dir: string | URL, options: StaticOptions = {}): Controller {
  return staticController('directory', dir, options);
}

/**
 * Serve one file (Nova's `{"/favicon.ico", "favicon.ico"}`), with the same caching, ranges and
 * session exception as {@link staticFiles}.
 *
 * @example
 * ```ts
 * const routes: RouteGroup[] = [{ routes: [['/favicon.ico', staticFile('public/favicon.ico')]] }];
 * ```
 */
export function staticFile(file: string | URL, options: StaticOptions = {}): Controller {
  return staticController('file', file, options);
}

function staticController(kind: 'directory' | 'file', given: string | URL, options: StaticOptions): Controller {
  const path = absolute(given);
  const settings = checkOptions(path, kind, options);
  // Resolved once: the root's real path is what every served file's real path must lie under.
  let realRoot: string | undefined;
  const rootOf = (): string => (realRoot ??= realpathSync(path));
  const target: StaticTarget = {
    kind,
    path,
    check(routePath) {
      let info: ReturnType<typeof statSync>;
      try {
        info = statSync(path);
      } catch {
        throw errors.staticInvalid(
          path,
          `the ${kind} does not exist (route "${routePath}"); create it or fix the path (a relative path is resolved from the working directory, ${process.cwd()})`,
        );
      }
      if (kind === 'directory' && !info.isDirectory()) throw errors.staticInvalid(path, 'is not a directory: serve one file with staticFile()');
      if (kind === 'file' && !info.isFile()) throw errors.staticInvalid(path, 'is not a file: serve a directory with staticFiles()');
      if (kind === 'directory' && !routePath.endsWith('/*')) {
        throw errors.staticInvalid(path, `staticFiles() serves a directory: its route path must end in "/[...]" (got "${routePath}")`);
      }
      rootOf();
    },
  };
  const controller = async (ctx: Context): Promise<StaticFileResult> => {
    const file =
      kind === 'file'
        ? await resolveStaticFile(rootOf(), '', { dotfiles: true, index: undefined })
        : await resolveStaticFile(rootOf(), ctx.bindings['*'] ?? '', settings);
    if (file === undefined) throw errors.staticNotFound();
    return { kind: 'static-file', file, options: settings };
  };
  Object.defineProperty(controller, 'name', { value: `static:${path}` });
  Object.defineProperty(controller, STATIC, { value: target });
  return controller;
}

function absolute(given: string | URL): string {
  if (given instanceof URL) {
    if (given.protocol !== 'file:') throw errors.staticInvalid(given.href, "a URL must be a file: URL (new URL('./public', import.meta.url))");
    return fileURLToPath(given);
  }
  if (typeof given !== 'string' || given === '') throw errors.staticInvalid(String(given), 'the path must be a non-empty string or a file: URL');
  return resolve(given);
}

function checkOptions(path: string, kind: 'directory' | 'file', options: StaticOptions): ResolvedStaticOptions {
  if (typeof options !== 'object' || options === null) throw errors.staticInvalid(path, 'the options must be an object');
  const unknown = Object.keys(options).find((key) => !(OPTION_KEYS as readonly string[]).includes(key));
  if (unknown !== undefined) throw errors.staticInvalid(path, `unknown option "${unknown}"; known: ${OPTION_KEYS.join(', ')}`);
  const { maxAge = 0, immutable = false, dotfiles = 'ignore', index = 'index.html' } = options;
  if (!Number.isSafeInteger(maxAge) || maxAge < 0)
    throw errors.staticInvalid(path, `maxAge must be a whole number of seconds, 0 or more (got ${String(maxAge)})`);
  if (maxAge > YEAR_SECONDS) {
    throw errors.staticInvalid(path, `maxAge is in seconds: ${maxAge} is over a year (${YEAR_SECONDS}); milliseconds by mistake?`);
  }
  if (typeof immutable !== 'boolean') throw errors.staticInvalid(path, 'immutable must be true or false');
  if (dotfiles !== 'ignore' && dotfiles !== 'allow') throw errors.staticInvalid(path, `dotfiles must be 'ignore' or 'allow' (got ${String(dotfiles)})`);
  if (index !== false && (typeof index !== 'string' || index === '' || /[/\\]/.test(index))) {
    throw errors.staticInvalid(path, 'index must be a file name (no slash) or false');
  }
  if (kind === 'file' && options.index !== undefined) throw errors.staticInvalid(path, 'index is for a directory (staticFiles), not one file');
  return { maxAgeSeconds: maxAge, immutable, dotfiles: dotfiles === 'allow', index: index === false ? undefined : index };
}
