import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
import { errors } from '../errors.js';
import type { Plugin } from './plugin.js';

export interface CsrfOptions {
  /** Request header a script sends the token in. Default `x-csrf-token`. */
  readonly header?: string;
  /**
   * Body field a form sends it in: urlencoded or JSON, as parsed by `requestPlugin()`, which reads
   * the bodies of POST, PUT and PATCH. A DELETE, or a multipart form, sends the header. Default `_csrf`.
   */
  readonly field?: string;
}

const NAME = 'csrf';
const PURPOSE = 'nova-csrf';
/** Methods that must not change anything, so they need no token (RFC 9110 §9.2.1). */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
const MAC_BYTES = 32;
// 64 bytes (mask + masked MAC) in unpadded base64url: 86 characters, the last one carrying
// 2 bits, so only these letters end a canonical spelling.
const TOKEN = /^[A-Za-z0-9_-]{85}[AQgw]$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const KNOWN_OPTIONS = new Set(['header', 'field']);

/**
 * The CSRF token for this request's session, to put in a form (`<input type="hidden"
 * name="_csrf" value="…">`) or hand to scripts. Each call returns a different spelling of the same
 * token (masked with fresh random bytes, so a compressed page does not leak it, as in BREACH);
 * every spelling is accepted until the session id changes. Call it after `session.regenerate`
 * or `session.delete` in the same request: those change the id, and with it the token.
 *
 * @example
 * ```ts
 * export function login(ctx: Context) {
 *   return view({ csrf: csrfToken(ctx) }, { view: 'login' });
 * }
 * ```
 */
export function csrfToken(ctx: Context): string {
  const mac = manager(ctx).bindToSession(ctx, PURPOSE);
  const mask = randomBytes(MAC_BYTES);
  const masked = Buffer.alloc(MAC_BYTES);
  for (let i = 0; i < MAC_BYTES; i += 1) masked[i] = (mask[i] as number) ^ (mac[i] as number);
  return Buffer.concat([mask, masked]).toString('base64url');
}

/**
 * CSRF protection (DESIGN.md §3): a POST, PUT, PATCH or DELETE (any method but GET, HEAD, OPTIONS
 * and TRACE) must carry this session's token — from `csrfToken(ctx)` — in the `x-csrf-token`
 * header or the `_csrf` form field, or it is refused with `NOVA_ERR_CSRF` (403) before its
 * security function and controller run.
 *
 * The token is an HMAC of the session id under the session secret, not a value stored in the
 * session: it changes with the id (login regenerates it, logout deletes it), needs no store
 * write for an anonymous visitor's form, and every node of a cluster checks it with no
 * replication. Put `requestPlugin()` before it so form fields are parsed, and before any plugin
 * that may `breakChain()` (which would skip it). A page carrying a token is never stored by a
 * shared cache (`Cache-Control: private, no-store` unless the controller chose a private policy,
 * and `Vary: Cookie`; see docs/security.md).
 *
 * @example
 * ```ts
 * createApp({
 *   plugins: [requestPlugin(), csrf()],
 *   routes: [{ routes: [['/login', login, { methods: ['get'] }], ['/login', loginPost, { methods: ['post'] }]] }],
 * });
 * ```
 */
export function csrf(options: CsrfOptions = {}): Plugin {
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw errors.pluginInvalid(NAME, `unknown option "${key}"`);
  }
  const header = (options.header ?? 'x-csrf-token').toLowerCase();
  const field = options.field ?? '_csrf';
  if (!HEADER_NAME.test(header)) throw errors.pluginInvalid(NAME, `header "${options.header}" is not a valid header name`);
  if (typeof field !== 'string' || field.length === 0) throw errors.pluginInvalid(NAME, 'field must be a non-empty string');

  return {
    name: NAME,
    needsBody: `the ${field} form field`,
    preRequest(ctx) {
      if (SAFE.has(ctx.method)) return;
      const sessions = manager(ctx);
      // Every refusal is a session event too (summarised, never logged per request).
      const refuse = (reason: string) => {
        sessions.emit(ctx, 'csrf-refused');
        return errors.csrfRejected(reason);
      };
      const given = tokenIn(ctx, header, field);
      if (given === undefined) throw refuse(`no token in the ${header} header or the ${field} field${unreadBodyHint(ctx, field)}`);
      if (!TOKEN.test(given)) throw refuse('the token is malformed');
      const bytes = Buffer.from(given, 'base64url');
      const mac = Buffer.alloc(MAC_BYTES);
      for (let i = 0; i < MAC_BYTES; i += 1) mac[i] = (bytes[i] as number) ^ (bytes[MAC_BYTES + i] as number);
      if (!sessions.isBoundToSession(ctx, PURPOSE, mac)) throw refuse("the token is not this session's");
    },
  };
}

/**
 * The token from the header, else from the parsed form or JSON body. A form field sent twice
 * counts as none; in JSON a repeated key is the last one, as JSON.parse reads it.
 */
function tokenIn(ctx: Context, header: string, field: string): string | undefined {
  const fromHeader = ctx.headers[header];
  if (typeof fromHeader === 'string') return fromHeader;
  const fromForm = ctx.params[field];
  if (typeof fromForm === 'string') return fromForm;
  const body = ctx.json;
  if (typeof body === 'object' && body !== null && !Array.isArray(body) && Object.hasOwn(body, field)) {
    const fromJson = (body as Record<string, unknown>)[field];
    if (typeof fromJson === 'string') return fromJson;
  }
  return undefined;
}

/**
 * When a form or JSON body came but nobody read it, the token may well be in it: say that the
 * body parser must run first (`[csrf(), requestPlugin()]` is the usual cause).
 */
function unreadBodyHint(ctx: Context, field: string): string {
  const type = (ctx.req?.headers?.['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const parsable = type === 'application/x-www-form-urlencoded' || type === 'application/json' || type.endsWith('+json');
  if (!parsable || ctx.req.readableDidRead || ctx.req.readableEnded) return '';
  return ` (the request body was not read: put requestPlugin() before csrf() so the ${field} field is parsed)`;
}

function manager(ctx: Context) {
  if (ctx.session === undefined) throw errors.sessionsDisabled();
  return ctx.session.manager;
}
