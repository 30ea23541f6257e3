// npm's rules for a package name (those of validate-npm-package-name for new packages), for the
// name `nova-ts new` takes from the folder.
const MAX_LENGTH = 214;
const RESERVED = new Set(['node_modules', 'favicon.ico', 'nova-ts']);

/** Why `name` cannot be the new app's package name, or `undefined` when it can. */
export function appNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > MAX_LENGTH) return `it is longer than ${MAX_LENGTH} characters`;
  if (name !== name.trim()) return 'it starts or ends with a space';
  if (name.startsWith('.') || name.startsWith('_')) return 'it starts with "." or "_"';
  if (name !== name.toLowerCase()) return 'it has upper-case letters';
  if (RESERVED.has(name)) return name === 'nova-ts' ? 'an app named "nova-ts" could not depend on nova-ts' : 'the name is reserved';
  if (!/^[a-z0-9._~-]+$/.test(name)) return 'only lower-case letters, digits, "-", "_", "." and "~" are allowed';
  return undefined;
}
