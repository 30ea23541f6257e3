// Where the running nova-ts comes from, and how a new app should depend on it. nova-ts is not on
// the npm registry yet, so a new app depends on the copy that made it, by path (`file:`).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Manifest {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** The folder of the nova-ts package this module belongs to (a clone's root, or node_modules/nova-ts). */
export function packageRoot(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    if (readJson<Manifest>(join(dir, 'package.json'))?.name === 'nova-ts') return dir;
    if (dirname(dir) === dir) throw new Error(`no nova-ts package.json above ${from}`);
  }
}

/** The running package's version. */
export function packageVersion(root: string = packageRoot()): string {
  return readJson<Manifest>(join(root, 'package.json'))?.version ?? '0.0.0';
}

/** `file:` followed by a path relative to `base` made absolute; other specs as they are. */
function absoluteSpec(spec: string, base: string): string {
  if (!spec.startsWith('file:')) return spec;
  const path = spec.slice('file:'.length);
  return `file:${isAbsolute(path) ? path : resolve(base, path)}`;
}

/**
 * The dependency spec a new app gets for nova-ts:
 *
 * - a package outside any `node_modules` (a clone, built): `file:<its folder>`;
 * - a package installed into a project (`<project>/node_modules/nova-ts`, `npx` included): what
 *   npm recorded for it — the lockfile's `resolved` (`file:<the tarball>` made absolute, or the
 *   version, `^x.y.z`, for a registry download), else the project's own dependency spec;
 * - failing all that, `file:<its folder>`.
 */
export function dependencySpec(root: string = packageRoot()): string {
  const parts = root.split(sep);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0) return `file:${root}`;
  const project = parts.slice(0, at).join(sep) || sep;
  const key = relative(project, root).split(sep).join('/');
  for (const lock of [join(project, 'package-lock.json'), join(project, 'node_modules', '.package-lock.json')]) {
    if (!existsSync(lock)) continue;
    const entry = readJson<{ packages?: Record<string, { resolved?: string; version?: string }> }>(lock)?.packages?.[key];
    if (entry?.resolved?.startsWith('file:')) return absoluteSpec(entry.resolved, project);
    if (entry?.resolved !== undefined && /^https?:/.test(entry.resolved) && entry.version !== undefined) return `^${entry.version}`;
  }
  const manifest = readJson<Manifest>(join(project, 'package.json'));
  const declared = manifest?.dependencies?.['nova-ts'] ?? manifest?.devDependencies?.['nova-ts'];
  if (declared !== undefined) return absoluteSpec(declared, project);
  return `file:${root}`;
}
