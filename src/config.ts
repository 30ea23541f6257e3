import { statSync } from 'node:fs';
import { z } from 'zod';
import { errors } from './errors.js';
import type { Plugin } from './plugins/plugin.js';
import type { FallbackController } from './results/respond.js';
import { securityHeadersProblem, type SecurityHeadersOptions } from './results/security-headers.js';
import type { RouteGroup, RoutesFunction } from './router/routes.js';
import type { SessionEventHook } from './session/events.js';
import type { SessionStore } from './session/store.js';
import { replicationProblem, storeProblem, type ReplicationOptions } from './session/store-spec.js';
import { normaliseOrigin } from './security/origin.js';

/** Where the framework writes what it has to say. `console` fits. */
export interface Logger {
  info(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  error(message: string, ...rest: unknown[]): void;
}

const fn = <T>(what: string) => z.custom<T>((v) => typeof v === 'function', { message: `expected ${what}` });

// Cookie attribute values end up inside a Set-Cookie header: refuse anything that could split it.
const cookieSafe = z
  .string()
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
  .refine((s) => !/[;,]/.test(s), 'must not contain ";" or ","');

const sessionSchema = z
  .object({
    /** HMAC secrets; the first signs, all verify. Omitted: a random one per start (with a warning). */
    secrets: z.array(z.string().min(32, 'each secret needs at least 32 characters')).min(1).optional(),
    cookieName: z
      .string()
      .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a valid cookie name token')
      .default('session_id'),
    /** Use the `__Host-` prefix (implies Secure, Path=/, no Domain). */
    hostPrefix: z.boolean().default(false),
    domain: cookieSafe.optional(),
    path: cookieSafe.refine((p) => p.startsWith('/'), 'must start with "/"').default('/'),
    sameSite: z.enum(['lax', 'strict', 'none']).default('lax'),
    /** `auto`: Secure on HTTPS requests (see `trustProxy`). */
    secure: z.union([z.literal('auto'), z.boolean()]).default('auto'),
    /** Cookie Max-Age in seconds; omitted means a browser-session cookie. */
    maxAge: z.number().int().positive().optional(),
    /** Send the cookie only once something is written to the session. */
    cookieOnWrite: z.boolean().default(false),
    /** Seconds of inactivity after which a session is gone; default 1800, or absoluteTimeout if shorter. */
    idleTimeout: z.number().positive().optional(),
    /** Seconds after creation after which a session is gone, active or not. */
    absoluteTimeout: z
      .number()
      .positive()
      .default(8 * 60 * 60),
    /** Seconds between two refreshes of an unchanged session's idle timer; default: 60, at most a tenth of idleTimeout. */
    touchInterval: z.number().positive().optional(),
    maxSessionBytes: z
      .number()
      .int()
      .positive()
      .default(64 * 1024),
    maxSessions: z.number().int().positive().default(1_000_000),
    /**
     * Bytes the memory stores may hold in this process's heap (an estimate kept as they go);
     * default a quarter of V8's heap limit (`defaultMaxStoreBytes`). See docs/sessions.md, "Memory budget".
     */
    maxStoreBytes: z.number().int().positive().optional(),
    /** Live sessions one user may hold (see `session.bindUser`); one more revokes the oldest. */
    maxSessionsPerUser: z.number().int().positive().default(50),
    /** Record the client address with a user's sessions (shown by `session.list`). Off: it is personal data. */
    recordClientAddress: z.boolean().default(false),
    /** Hears every session event (created, rotated, logged out, revoked, expired, refusals). */
    onEvent: fn<SessionEventHook>('a function (event) => void').optional(),
    /**
     * `'memory'` (the default), a `redis://`/`rediss://` or `postgres://`/`postgresql://` URL (the
     * app makes and closes the client), or a store object. See docs/stores.md.
     */
    store: z
      .custom<string | SessionStore>()
      .superRefine((value, ctx) => {
        const problem = storeProblem(value);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
      })
      .optional(),
    /**
     * Replicate the memory store to every node: a `redis://` or `nats://` URL, `'cluster'` (Node
     * cluster IPC), or `{ url, leaseMs, partition, … }`. Authenticated with `secrets`. See docs/stores.md.
     */
    replication: z.custom<string | ReplicationOptions>().optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.replication !== undefined) {
      const problem = replicationProblem(s.replication, s.store);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['replication', ...problem.path], message: problem.message });
    }
    if (s.hostPrefix && s.domain !== undefined) ctx.addIssue({ code: 'custom', path: ['domain'], message: 'the __Host- prefix forbids a Domain' });
    if (s.hostPrefix && s.path !== '/') ctx.addIssue({ code: 'custom', path: ['path'], message: 'the __Host- prefix requires Path=/' });
    if (s.hostPrefix && s.secure === false) ctx.addIssue({ code: 'custom', path: ['secure'], message: 'the __Host- prefix requires Secure' });
    if (s.sameSite === 'none' && s.secure === false) ctx.addIssue({ code: 'custom', path: ['sameSite'], message: 'SameSite=None requires Secure' });
    // Timeouts are in seconds; one given in milliseconds by mistake is a thousand times too long.
    const idle = s.idleTimeout === undefined ? undefined : secondsProblem(s.idleTimeout, MAX_IDLE_TIMEOUT, '7 days');
    if (idle !== undefined) ctx.addIssue({ code: 'custom', path: ['idleTimeout'], message: idle });
    const absolute = secondsProblem(s.absoluteTimeout, MAX_ABSOLUTE_TIMEOUT, 'a year');
    if (absolute !== undefined) ctx.addIssue({ code: 'custom', path: ['absoluteTimeout'], message: absolute });
    if (idle === undefined && absolute === undefined && s.idleTimeout !== undefined && s.idleTimeout > s.absoluteTimeout) {
      ctx.addIssue({
        code: 'custom',
        path: ['idleTimeout'],
        message: `must not exceed absoluteTimeout (${s.absoluteTimeout} seconds): a session ends at its absolute timeout anyway`,
      });
    }
  })
  // The default idle timeout gives way to a shorter absolute one rather than being refused.
  .transform((s) => ({ ...s, idleTimeout: s.idleTimeout ?? Math.min(DEFAULT_IDLE_TIMEOUT, s.absoluteTimeout) }));

const DEFAULT_IDLE_TIMEOUT = 30 * 60;

/** Longest `session.idleTimeout`, in seconds: 7 days. */
export const MAX_IDLE_TIMEOUT = 7 * 24 * 60 * 60;
/** Longest `session.absoluteTimeout`, in seconds: 365 days. */
export const MAX_ABSOLUTE_TIMEOUT = 365 * 24 * 60 * 60;

function secondsProblem(value: number, max: number, maxInWords: string): string | undefined {
  if (value <= max) return undefined;
  const guess = value / 1000 >= 1 ? ` (did you mean ${Math.round(value / 1000)}?)` : '';
  return `${value} seconds is over ${maxInWords} — session timeouts are in seconds${guess}`;
}

// Browsers send one spelling of an origin and compare exactly: keep that spelling.
const origin = z
  .string()
  .refine((value) => normaliseOrigin(value) !== undefined, 'is not an origin (expected scheme://host[:port], no path, not "null")')
  .transform((value) => normaliseOrigin(value)!);

const crossOriginSchema = z.union(
  [
    z.literal(false),
    z
      .object({
        /** Origins whose unsafe requests pass even though the browser says they are cross-origin. */
        trustedOrigins: z.array(origin).default([]),
      })
      .strict(),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? 'expected false or { trustedOrigins: [...] }' : undefined) },
);

const ms = (what: string) => z.number({ message: `expected ${what} in milliseconds` }).int('must be a whole number of milliseconds');

/**
 * Limits of the HTTP server, all in milliseconds (like Node's options of the same names and like
 * `shutdownTimeout`), bytes, or a count. Defaults are chosen to cut slow clients early without
 * hurting real ones: compare nginx's `client_header_timeout`/`client_body_timeout` (60 s) and
 * `keepalive_timeout` (75 s), and Node's own 60 s / 5 min.
 */
const serverSchema = z
  .object({
    /** Time to receive the request line and headers. */
    headersTimeout: ms('headersTimeout').positive().default(10_000),
    /** Time to receive the whole request, headers and body. */
    requestTimeout: ms('requestTimeout').positive().default(30_000),
    /** Longest silence while a request body is still coming; a stalled body gets 408 and the connection closes. */
    bodyTimeout: ms('bodyTimeout').positive().default(10_000),
    /** How long an idle keep-alive connection (or HTTP/2 session) is kept open. */
    keepAliveTimeout: ms('keepAliveTimeout').positive().default(5_000),
    /** Open connections at most; one more is accepted and closed at once (Node's `server.maxConnections`). */
    maxConnections: z.number().int('must be a whole number').positive().default(10_000),
    /** Largest request head (request line and headers), in bytes; larger gets 431. */
    maxHeaderSize: z
      .number()
      .int('must be a whole number of bytes')
      .min(1024, 'must be at least 1024 bytes')
      .max(1024 * 1024, 'must be at most 1 MiB')
      .default(16 * 1024),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.headersTimeout > s.requestTimeout)
      ctx.addIssue({
        code: 'custom',
        path: ['headersTimeout'],
        message: `must not exceed requestTimeout (${s.requestTimeout} ms): the headers are part of the request`,
      });
    if (s.bodyTimeout > s.requestTimeout)
      ctx.addIssue({
        code: 'custom',
        path: ['bodyTimeout'],
        message: `must not exceed requestTimeout (${s.requestTimeout} ms): the body is part of the request`,
      });
  });

/** A views directory that is missing fails now, naming the path, not at the first render. */
function checkViewsDir(dir: string, ctx: z.RefinementCtx): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    ctx.addIssue({ code: 'custom', message: `the views directory ${JSON.stringify(dir)} does not exist` });
    return;
  }
  if (!isDirectory) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(dir)} is not a directory` });
}

const pem = z.union([z.string().min(1), z.instanceof(Buffer)], { message: 'expected PEM text (a string or a Buffer)' });

/** Serve HTTPS, and with it HTTP/2 (HTTP/1.1 for clients that do not offer h2, chosen by ALPN). */
const tlsSchema = z
  .object({
    key: pem,
    cert: pem,
    /** Extra CA certificates (an intermediate chain is better appended to `cert`). */
    ca: z.union([pem, z.array(pem)]).optional(),
    /** Passphrase of an encrypted `key`. */
    passphrase: z.string().optional(),
  })
  .strict();

const configSchema = z
  .object({
    port: z.number().int().min(0).max(65535).default(8080),
    host: z.string().min(1).default('0.0.0.0'),
    /** Passed to `routes(environment)`, like Nova's `environment`. */
    environment: z.string().min(1).default('dev'),
    routes: z.union([
      fn<RoutesFunction>('a routes(environment) function'),
      z.array(z.custom<RouteGroup>((v) => typeof v === 'object' && v !== null, { message: 'expected a route group' })),
    ]),
    /** Global plugins, run for every routed request before the group's own. */
    plugins: z
      .array(
        z.custom<Plugin>((v) => typeof v === 'object' && v !== null && typeof (v as Plugin).name === 'string', {
          message: 'expected a plugin (an object with a name)',
        }),
      )
      .default([]),
    fallbackController: fn<FallbackController>('a function (ctx, result) => result').optional(),
    /** The `server` response header; `false` sends none. */
    serverHeader: z.union([z.literal(false), z.string().regex(/^[\x20-\x7e]+$/, 'must be printable ASCII')]).default('Nova.ts'),
    renderErrorPages: z.boolean().default(true),
    /** Show stack traces on error pages. Never turn this on in production. */
    useStacktrace: z.boolean().default(false),
    /**
     * Security headers (docs/security.md): `nosniff` on every response; on HTML, no framing by
     * other sites, a referrer policy and an opener policy. `false` sends none; an object changes
     * the headers it names (a value, or `false` for none). Route groups change them again.
     */
    securityHeaders: z
      .custom<false | SecurityHeadersOptions>()
      .superRefine((value, ctx) => {
        const problem = securityHeadersProblem(value);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [...problem.path], message: problem.message });
      })
      .default({}),
    /** Trust `X-Forwarded-Proto` from a proxy in front (for Secure cookies). */
    trustProxy: z.boolean().default(false),
    /**
     * Cross-origin protection for unsafe methods (docs/cross-origin.md): on by default; `false`
     * turns it off for the whole app, `crossOrigin: false` on a route group for its routes.
     */
    crossOrigin: crossOriginSchema.default(() => ({ trustedOrigins: [] })),
    /** Milliseconds to let in-flight requests finish on shutdown. */
    shutdownTimeout: z.number().int().nonnegative().default(15_000),
    /** Where views are read from; the directory must exist when the app is created. */
    views: z
      .object({
        dir: z.string().min(1).superRefine(checkViewsDir),
        extension: z
          .string()
          .regex(/^\.[\w.-]+$/)
          .default('.html'),
      })
      .strict()
      .optional(),
    /** Timeouts and connection limits of the server `listen` starts (see docs/server.md). */
    server: serverSchema.default(() => serverSchema.parse({})),
    /** Key and certificate: serve HTTPS with HTTP/2 (and HTTP/1.1 by ALPN). Omitted: plain HTTP/1.1. */
    tls: tlsSchema.optional(),
    useSessions: z.boolean().default(true),
    session: sessionSchema.default(() => sessionSchema.parse({})),
    logger: z
      .custom<Logger>((v) => typeof v === 'object' && v !== null && typeof (v as Logger).error === 'function', {
        message: 'expected a logger with info/warn/error',
      })
      .default(() => console),
  })
  .strict();

/** Nova's `sys.config`, in TypeScript: what you pass to `createApp`. */
export type NovaConfigInput = z.input<typeof configSchema>;
/** The configuration after defaults and validation. */
export type NovaConfig = z.output<typeof configSchema>;
export type SessionConfig = z.output<typeof sessionSchema>;
export type ServerLimits = z.output<typeof serverSchema>;
export type TlsConfig = z.output<typeof tlsSchema>;

/**
 * Validate a configuration and fill in defaults. A bad key is a start-up error naming the key.
 *
 * @example
 * ```ts
 * const config = loadConfig({ port: 3000, routes: () => [] });
 * loadConfig({ port: 'x', routes: [] }); // throws NOVA_ERR_CONFIG: invalid configuration at "port": …
 * ```
 */
export function loadConfig(input: NovaConfigInput): NovaConfig {
  const parsed = configSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys.join(', ')] : issue.path;
  const key = path.length > 0 ? path.join('.') : '(root)';
  const problem = issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message;
  throw errors.config(key, problem);
}
