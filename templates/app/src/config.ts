// The app's configuration, read from the environment (see README.md for the variables).
import { fileURLToPath } from 'node:url';
import type { NovaConfigInput } from 'nova-ts';

/** Everything but the routes: port, plugins, views and sessions. */
export function config(env: NodeJS.ProcessEnv): Omit<NovaConfigInput, 'routes'> {
  // Comma-separated; the first signs cookies, all verify (so a secret can be rotated).
  const secrets =
    env.SESSION_SECRET?.split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '') ?? [];
  const port = env.PORT === undefined || env.PORT === '' ? 8080 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got "${env.PORT}"`);
  return {
    port,
    environment: env.NODE_ENV === 'production' ? 'prod' : 'dev',
    // Global plugins, run on every route. Add `requestPlugin()` (from 'nova-ts') here before the
    // first form or JSON route: it reads and parses request bodies.
    plugins: [],
    // Views stay beside dist/, not inside it: `npm run build` has nothing to copy.
    views: { dir: fileURLToPath(new URL('../views/', import.meta.url)) },
    // Without SESSION_SECRET each start signs with a random secret (and warns): fine on a laptop,
    // but every restart logs everybody out. Set one (32+ characters) in production.
    session: secrets.length > 0 ? { secrets } : {},
  };
}
