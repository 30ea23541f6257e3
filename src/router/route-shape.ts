import { errors } from '../errors.js';

/** The keys a route group object may have (see `RouteGroup`). */
export const GROUP_KEYS = ['prefix', 'security', 'plugins', 'securityHeaders', 'crossOrigin', 'routes'] as const;
/** The keys a route's options object may have (see `RouteOptions`). */
export const ROUTE_OPTION_KEYS = ['methods'] as const;

/**
 * Refuse unknown keys in a route group, so a typo (`securty`, `plugin`) is a start-up error in
 * plain JavaScript too, never a group that silently runs without its security or its plugins.
 */
export function checkGroupShape(group: object, where: string): void {
  const unknown = Object.keys(group).find((key) => !(GROUP_KEYS as readonly string[]).includes(key));
  if (unknown !== undefined) throw errors.routeInvalid(where, unknownKey('key', unknown, GROUP_KEYS));
  const plugins = (group as { plugins?: unknown }).plugins;
  if (plugins === undefined) return;
  if (!Array.isArray(plugins)) throw errors.routeInvalid(where, '`plugins` must be an array of plugins');
  for (const [i, plugin] of plugins.entries()) {
    if (typeof plugin !== 'object' || plugin === null || typeof (plugin as { name?: unknown }).name !== 'string') {
      throw errors.routeInvalid(where, `\`plugins[${i}]\` is not a plugin (an object with a name)`);
    }
  }
}

/**
 * Refuse a route's options that are not an object or carry an unknown key: `{ method: ['get'] }`
 * (singular) would otherwise leave `methods` unset, and the route would answer every method.
 */
export function checkRouteOptions(options: unknown, where: string): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw errors.routeInvalid(where, "the route options must be an object such as { methods: ['get'] }");
  }
  const unknown = Object.keys(options).find((key) => !(ROUTE_OPTION_KEYS as readonly string[]).includes(key));
  if (unknown !== undefined) throw errors.routeInvalid(where, unknownKey('option', unknown, ROUTE_OPTION_KEYS));
}

function unknownKey(what: 'key' | 'option', key: string, known: readonly string[]): string {
  const guess = closest(key, known);
  const hint = guess === undefined ? '' : ` (did you mean ${guess}?)`;
  return `unknown ${what} "${key}"${hint}; known: ${known.join(', ')}`;
}

/** The known key a typo most likely meant: within a third of its length in edits, case ignored. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = distance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(2, Math.ceil((best?.length ?? 0) / 3)) ? best : undefined;
}

/** Levenshtein distance, small strings only. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const row = [i];
    for (let j = 1; j <= b.length; j += 1) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}
