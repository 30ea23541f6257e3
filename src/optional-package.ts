/**
 * Loading an optional client package (`redis`, `pg`, `@nats-io/transport-node`) on first use. They
 * are optional peer dependencies, so an app that uses none of them installs none of them; the one
 * that is missing is named in the error, with the command that installs it.
 */
import { errors, withCause } from './errors.js';

/**
 * The module `pkg`, imported now, or a `NOVA_ERR_MISSING_PACKAGE` error naming it when it is not
 * installed. Any other failure while loading it (a broken install) is rethrown as it is.
 *
 * @example
 * ```ts
 * const { createClient } = await loadOptional<typeof import('redis')>('redis', 'the Redis store');
 * ```
 */
export async function loadOptional<T>(pkg: string, what: string): Promise<T> {
  try {
    return (await import(pkg)) as T;
  } catch (err) {
    if (!isNotFound(err, pkg)) throw err;
    throw withCause(errors.missingPackage(what, pkg), err);
  }
}

function isNotFound(err: unknown, pkg: string): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  // Only the package itself missing, not one of its own dependencies.
  const message = err instanceof Error ? err.message : '';
  return message.includes(`'${pkg}'`) || message.includes(`"${pkg}"`);
}
