// `nova-ts new <dir>`: a working app from templates/app, which the package ships as plain files.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { errors } from '../errors.js';
import { appNameProblem } from './app-name.js';
import { dependencySpec, packageRoot } from './package-source.js';

export interface NewAppOptions {
  /** The nova-ts dependency spec; default from where the running nova-ts comes (see package-source.ts). */
  readonly dependency?: string;
  /** The nova-ts package whose templates are used. Default: the running one. */
  readonly packageRoot?: string;
}

export interface NewAppResult {
  readonly dir: string;
  readonly name: string;
  readonly dependency: string;
  readonly files: string[];
}

/** Placeholder in template files for the app's name. */
const NAME = /__APP_NAME__/g;
/**
 * Template files named otherwise in the package: npm pack drops a `.gitignore`, and the package
 * holds no test file (nothing named `*.test.*`).
 */
const RENAMES: Record<string, string> = { gitignore: '.gitignore', 'app-test.ts.tmpl': 'app.test.ts' };
const TEXT = /\.(ts|tmpl|html|css|md|json|txt)$|^gitignore$/;

/**
 * Create a new app in `target`: refuses a folder that exists and is not empty, creates a missing one.
 *
 * @example
 * ```ts
 * const { dir, dependency } = createNewApp('my_app'); // my_app/package.json depends on nova-ts: `dependency`
 * ```
 */
export function createNewApp(target: string, options: NewAppOptions = {}): NewAppResult {
  const dir = resolve(target);
  const name = basename(dir);
  const problem = appNameProblem(name);
  if (problem !== undefined) throw errors.cliAppName(name, problem);
  if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) throw errors.cliTargetNotEmpty(dir);

  const root = options.packageRoot ?? packageRoot();
  const dependency = options.dependency ?? dependencySpec(root);
  const templates = join(root, 'templates', 'app');
  if (!existsSync(templates)) throw new Error(`the nova-ts package at ${root} has no templates/app folder (a broken install?)`);
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string> }).devDependencies?.typescript;

  mkdirSync(dir, { recursive: true });
  cpSync(templates, dir, { recursive: true });
  const files: string[] = [];
  for (const file of walk(dir)) {
    const base = basename(file);
    let final = file;
    if (base in RENAMES) {
      final = join(file, '..', RENAMES[base]!);
      renameSync(file, final);
    }
    if (TEXT.test(base)) writeFileSync(final, readFileSync(final, 'utf8').replace(NAME, name));
    files.push(relative(dir, final));
  }
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest(name, dependency, version ?? '~5.9'), null, 2)}\n`);
  files.push('package.json');
  return { dir, name, dependency, files: files.sort() };
}

function manifest(name: string, dependency: string, typescript: string) {
  return {
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    engines: { node: '>=20' },
    scripts: {
      build: 'tsc -p tsconfig.json',
      prestart: 'npm run build',
      start: 'node dist/main.js',
      pretest: 'npm run build',
      test: 'node --test dist/*.test.js',
      routes: 'npm run build && nova-ts routes',
    },
    // Where `nova-ts routes` finds the route table when given no module.
    nova: { routes: 'dist/router.js' },
    dependencies: { 'nova-ts': dependency },
    devDependencies: { '@types/node': '^20', typescript },
  };
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path) : [path];
  });
}
