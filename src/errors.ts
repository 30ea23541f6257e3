/**
 * The one catalogue of Nova.ts errors. Every error the framework raises is built here, with a
 * stable `code`, an HTTP `status` (used when the error reaches a request) and a message.
 * `docs/errors.md` lists the same codes; a test keeps the two in step.
 *
 * @example
 * ```ts
 * import { NovaError, errors } from 'nova-ts';
 * try { await app.listen(); } catch (err) {
 *   if (err instanceof NovaError && err.code === 'NOVA_ERR_CONFIG') console.error(err.message);
 * }
 * ```
 */
export class NovaError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, status: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NovaError';
    this.code = code;
    this.status = status;
  }
}

type Factory<A extends unknown[]> = ((...args: A) => NovaError) & { code: string; status: number };

function define<A extends unknown[]>(code: string, status: number, message: (...args: A) => string): Factory<A> {
  const make = (...args: A) => new NovaError(code, status, message(...args));
  return Object.assign(make, { code, status });
}

/** Error constructors by name. Call one to get a `NovaError` to throw. */
export const errors = {
  // start-up: configuration and routes
  config: define('NOVA_ERR_CONFIG', 500, (key: string, problem: string) => `invalid configuration at "${key}": ${problem}`),
  routeMethod: define(
    'NOVA_ERR_ROUTE_METHOD',
    500,
    (path: string, method: string, allowed: readonly string[]) =>
      `route "${path}": unknown method "${method}" (methods are lowercase, one of: ${allowed.join(', ')})`,
  ),
  routeInvalid: define('NOVA_ERR_ROUTE_INVALID', 500, (where: string, problem: string) => `route ${where}: ${problem}`),
  routeDuplicate: define('NOVA_ERR_ROUTE_DUPLICATE', 500, (method: string, path: string) => `route "${method} ${path}" is defined twice`),
  pluginInvalid: define('NOVA_ERR_PLUGIN_INVALID', 500, (name: string, problem: string) => `plugin "${name}": ${problem}`),
  viewNotFound: define('NOVA_ERR_VIEW_NOT_FOUND', 500, (name: string, dir: string) => `view "${name}" not found in ${dir}`),
  viewName: define(
    'NOVA_ERR_VIEW_NAME',
    500,
    (name: string) => `view name "${name}" refused: it must be a relative path inside the views directory (no "..", no absolute path)`,
  ),
  viewUnnamed: define(
    'NOVA_ERR_VIEW_UNNAMED',
    500,
    (path: string) =>
      `the view for "${path}" has no name: its controller has none to find the view by (an inline arrow); name the view, view(data, { view: 'name' }), or the function`,
  ),
  staticInvalid: define('NOVA_ERR_STATIC', 500, (target: string, problem: string) => `static files "${target}": ${problem}`),
  viewsNotConfigured: define(
    'NOVA_ERR_VIEWS_NOT_CONFIGURED',
    500,
    () => 'a controller returned a view but no views directory is configured (config.views.dir)',
  ),

  // request time
  badPath: define('NOVA_ERR_BAD_PATH', 400, (problem: string) => `request path refused: ${problem}`),
  badJson: define('NOVA_ERR_BAD_JSON', 400, (reason: string) => `request body is not valid JSON: ${reason}`),
  badForm: define('NOVA_ERR_BAD_FORM', 400, (reason: string) => `request body is not a valid form: ${reason}`),
  bodyTooLarge: define('NOVA_ERR_BODY_TOO_LARGE', 413, (limit: number) => `request body is larger than the limit of ${limit} bytes`),
  bodyIncomplete: define('NOVA_ERR_BODY_INCOMPLETE', 400, (reason: string) => `request body was not received completely: ${reason}`),
  bodyTimeout: define('NOVA_ERR_BODY_TIMEOUT', 408, () => "request body stalled: nothing arrived for longer than the server's bodyTimeout"),
  redirectTarget: define('NOVA_ERR_REDIRECT_TARGET', 500, (problem: string) => `redirect target refused: ${problem}`),
  resultInvalid: define('NOVA_ERR_RESULT_INVALID', 500, (problem: string) => `controller result refused: ${problem}`),
  unknownResult: define('NOVA_ERR_UNKNOWN_RESULT', 500, (what: string) => `controller returned a result nobody handles: ${what}`),
  securityFailed: define('NOVA_ERR_SECURITY', 500, (message: string) => `security function threw: ${message}`),
  csrfRejected: define('NOVA_ERR_CSRF', 403, (reason: string) => `cross-site request refused: ${reason}`),
  rateLimited: define(
    'NOVA_ERR_RATE_LIMITED',
    429,
    (retryAfterSeconds: number) => `too many requests: try again in ${retryAfterSeconds} second${retryAfterSeconds === 1 ? '' : 's'}`,
  ),
  rateLimitStoreUnavailable: define('NOVA_ERR_RATE_LIMIT_STORE_UNAVAILABLE', 503, (reason: string) => `rate limit store unavailable: ${reason}`),
  // The message goes out on the 404 page: it names nothing about the file system.
  staticNotFound: define('NOVA_ERR_STATIC_NOT_FOUND', 404, () => 'no file at this path'),
  crossOriginRejected: define('NOVA_ERR_CROSS_ORIGIN', 403, (reason: string) => `cross-origin request refused: ${reason}`),

  // sessions
  sessionsDisabled: define('NOVA_ERR_SESSIONS_DISABLED', 500, () => 'the session API was used but sessions are turned off (config.useSessions is false)'),
  sessionValue: define('NOVA_ERR_SESSION_VALUE', 500, (key: string, problem: string) => `session value for key "${key}" refused: ${problem}`),
  sessionTooLarge: define(
    'NOVA_ERR_SESSION_TOO_LARGE',
    500,
    (size: number, limit: number) => `session would hold ${size} bytes, over its limit of ${limit} bytes`,
  ),
  sessionStoreUnavailable: define('NOVA_ERR_SESSION_STORE_UNAVAILABLE', 503, (reason: string) => `session store unavailable: ${reason}`),
  // One code for both limits, so a client or monitor needs to know only one; the message says which.
  sessionStoreFull: define(
    'NOVA_ERR_SESSION_STORE_FULL',
    503,
    (limit: number, unit: 'sessions' | 'bytes' = 'sessions') => `session store is full (${limit} ${unit})`,
  ),
  // Thrown by a store when a write targets an id that was deleted, rotated or expired; the session
  // manager catches it and moves the write to a fresh id, so it should never reach a client.
  // The id itself is never put in a message: it is a bearer credential.
  sessionGone: define(
    'NOVA_ERR_SESSION_GONE',
    500,
    () => 'the session was deleted, rotated or has expired; a write cannot bring it back (use a new session id)',
  ),
  sessionIdInvalid: define('NOVA_ERR_SESSION_ID_INVALID', 500, (problem: string) => `session id refused: ${problem}`),
  sessionStoreFeature: define(
    'NOVA_ERR_SESSION_STORE_FEATURE',
    500,
    (store: string, method: string, purpose: string) =>
      `session store "${store}" does not implement ${method}(), which ${purpose} need; implement it (see docs/sessions.md, "Writing a store") or use a built-in store`,
  ),
  // Both at start-up: a store that outlives the process or spans nodes is useless with per-node random secrets.
  sessionSecretsRequired: define(
    'NOVA_ERR_SESSION_SECRETS_REQUIRED',
    500,
    (what: string) =>
      `${what} needs session.secrets: every node, and the same node after a restart, must sign cookies (and authenticate the cluster bus) with the same secrets. ` +
      'Set session.secrets to the same list on every node; make a secret with `openssl rand -base64 32`',
  ),
  sessionSecretMismatch: define(
    'NOVA_ERR_SESSION_SECRET_MISMATCH',
    500,
    () =>
      "the replicated store's secret (replicatedStore({ secret })) differs from session.secrets: one list signs cookies and authenticates the cluster bus. " +
      "Leave out replicatedStore's secret (it then uses session.secrets) or give both the same list",
  ),
  sessionUser: define('NOVA_ERR_SESSION_USER', 500, (problem: string) => `session user refused: ${problem}`),

  // pub/sub and replication
  sessionNodeFenced: define('NOVA_ERR_SESSION_NODE_FENCED', 503, (reason: string) => `this node cannot answer for sessions now: ${reason}`),
  sessionNotCaughtUp: define('NOVA_ERR_SESSION_NOT_CAUGHT_UP', 503, (reason: string) => `this node could not confirm it has every session yet: ${reason}`),
  missingPackage: define('NOVA_ERR_MISSING_PACKAGE', 500, (what: string, pkg: string) => `${what} needs the "${pkg}" package: npm install ${pkg}`),
  pubsubUnavailable: define('NOVA_ERR_PUBSUB_UNAVAILABLE', 503, (reason: string) => `pub/sub transport unavailable: ${reason}`),
  pubsubMessage: define('NOVA_ERR_PUBSUB_MESSAGE', 500, (problem: string) => `pub/sub message refused: ${problem}`),

  // the command-line tool (nova-ts new, nova-ts routes): never reach a request; the tool exits with 1 (2 for usage)
  cliUsage: define('NOVA_ERR_CLI_USAGE', 500, (problem: string) => `${problem}\nRun "nova-ts --help" for the commands.`),
  cliTargetNotEmpty: define(
    'NOVA_ERR_CLI_TARGET_NOT_EMPTY',
    500,
    (dir: string) => `nova-ts new: ${dir} already exists and is not empty; give a new folder name, or empty it first (nothing was written)`,
  ),
  cliAppName: define(
    'NOVA_ERR_CLI_APP_NAME',
    500,
    (name: string, problem: string) =>
      `nova-ts new: the app name "${name}" (from the folder name) is not a valid npm package name: ${problem}; choose another folder name`,
  ),
  cliRoutesModule: define('NOVA_ERR_CLI_ROUTES_MODULE', 500, (problem: string) => `nova-ts routes: ${problem}`),
} as const;

/** Attach the underlying error, so logs show what really went wrong. */
export function withCause(error: NovaError, cause: unknown): NovaError {
  Object.defineProperty(error, 'cause', { value: cause, writable: true, configurable: true });
  return error;
}
