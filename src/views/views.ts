/**
 * Views: Django-like templates (Nova renders ErlyDTL) through LiquidJS. Output is HTML-escaped
 * by default; `{{ value | raw }}` is the explicit opt-out for trusted markup.
 */
import { isAbsolute, resolve } from 'node:path';
import { Liquid, type LiquidOptions, type Template } from 'liquidjs';
import { errors } from '../errors.js';

export interface ViewEngineOptions {
  /** The directory views, includes and layouts are read from; nothing outside it is ever read. */
  readonly dir: string;
  /** Appended to view names that have no extension. Default `.html`. */
  readonly extension?: string;
}

export interface ViewEngine {
  /**
   * Render a view by name (relative to `dir`, extension optional). Rejects with `viewNotFound`
   * for a missing view and `viewName` for a name that could leave `dir`.
   */
  render(name: string, vars: Record<string, unknown>): Promise<string>;
  /** True when the view exists in `dir`; rejects with `viewName` like `render`. */
  has(name: string): Promise<boolean>;
}

type Parsed = Template[] | Promise<Template[]>;
/** LiquidJS's cache interface, which its package does not export by name. */
type LiquidCache = Exclude<LiquidOptions['cache'], boolean | number | undefined>;

/**
 * An unbounded parse cache shared by views, includes and layouts: a template is read and parsed
 * once per engine, so editing a file needs a restart (as a release build of Nova does).
 * Failed parses are removed by LiquidJS itself, so a missing file is looked up again next time.
 */
class ParseCache implements LiquidCache {
  readonly #entries = new Map<string, Parsed>();
  write(key: string, value: Parsed): void {
    this.#entries.set(key, value);
  }
  read(key: string): Parsed | undefined {
    return this.#entries.get(key);
  }
  remove(key: string): void {
    this.#entries.delete(key);
  }
}

/**
 * Create a view engine over one directory.
 *
 * @example
 * ```ts
 * const views = createViewEngine({ dir: fileURLToPath(new URL('./views/', import.meta.url)) });
 * const html = await views.render('login', { title: 'Sign in' }); // views/login.html
 * ```
 */
export function createViewEngine(options: ViewEngineOptions): ViewEngine {
  const dir = resolve(options.dir);
  const extension = options.extension ?? '.html';
  const liquid = new Liquid({
    root: [dir],
    partials: [dir],
    layouts: [dir],
    extname: extension,
    cache: new ParseCache(),
    outputEscape: 'escape',
    strictFilters: true,
  });

  const fileOf = (name: string): string => {
    checkName(name);
    return name.endsWith(extension) ? name : name + extension;
  };

  return {
    async render(name, vars) {
      const templates = await parse(liquid, fileOf(name), name, dir);
      return liquid.render(templates, vars) as Promise<string>;
    },
    async has(name) {
      const file = fileOf(name);
      try {
        await parse(liquid, file, name, dir);
        return true;
      } catch (err) {
        // Any other failure means the file is there but does not parse; `render` reports that.
        return !isViewNotFound(err);
      }
    },
  };
}

async function parse(liquid: Liquid, file: string, name: string, dir: string): Promise<Template[]> {
  try {
    return await liquid.parseFile(file);
  } catch (err) {
    // LiquidJS reports both "no such file" and "outside the root" as an ENOENT lookup error.
    if ((err as { code?: unknown }).code === 'ENOENT') throw errors.viewNotFound(name, dir);
    throw err;
  }
}

function isViewNotFound(err: unknown): boolean {
  return (err as { code?: unknown }).code === errors.viewNotFound.code;
}

/**
 * Refuse names that could leave the views directory before touching the file system; LiquidJS
 * also checks containment (with realpath, so symlinks out are caught), this makes the refusal
 * explicit and independent of it.
 */
function checkName(name: string): void {
  if (
    typeof name !== 'string' ||
    name === '' ||
    name.includes('..') ||
    name.includes('\0') ||
    name.includes('\\') ||
    name.startsWith('/') ||
    isAbsolute(name)
  ) {
    throw errors.viewName(String(name));
  }
}
