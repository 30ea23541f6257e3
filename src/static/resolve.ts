import type { Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';

/**
 * Find the file a static route serves for a path below its root, or `undefined` for none: the
 * one gate between a request and the file system. The router hands over the wildcard's value
 * decoded once (`ctx.path` keeps `%2F` and `%25` encoded, find-my-way decodes the parameter), so
 * `..%2F` arrives here as `../` and `..%252f` as the literal name `..%2f`: neither is ever decoded
 * again. Refused, as "no file": a `..` or `.` segment, a backslash (a separator on Windows, and
 * never part of a name we serve), a NUL, a dotfile segment unless allowed, and anything whose real
 * path, symlinks resolved, is not inside the root's real path.
 */
export async function resolveStaticFile(
  realRoot: string,
  wildcard: string,
  options: { readonly dotfiles: boolean; readonly index: string | undefined },
): Promise<string | undefined> {
  const segments = wildcard.split('/').filter((s) => s !== '');
  for (const segment of segments) {
    if (segment === '.' || segment === '..' || segment.includes('\\') || segment.includes('\0')) return undefined;
    if (!options.dotfiles && segment.startsWith('.')) return undefined;
  }
  let real = await within(realRoot, join(realRoot, ...segments), options.dotfiles);
  let info = real === undefined ? undefined : await statOf(real);
  if (real !== undefined && info?.isDirectory() === true) {
    if (options.index === undefined) return undefined;
    real = await within(realRoot, join(real, options.index), options.dotfiles);
    info = real === undefined ? undefined : await statOf(real);
  }
  return info?.isFile() === true ? real : undefined;
}

/** A file removed between two looks is a 404, not a 500. */
async function statOf(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch {
    return undefined;
  }
}

/** The real path of `candidate` if it exists and lies inside `realRoot` (a symlink may point anywhere). */
async function within(realRoot: string, candidate: string, dotfiles: boolean): Promise<string | undefined> {
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    return undefined;
  }
  if (real === realRoot) return real;
  const rel = relative(realRoot, real);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  // A symlink inside the root may name a dotfile that the request itself did not.
  if (!dotfiles && rel.split(sep).some((s) => s.startsWith('.'))) return undefined;
  return real;
}
