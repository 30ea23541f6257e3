import type { Context } from '../context.js';
import { searchParamsToRecord } from '../context.js';
import { errors } from '../errors.js';
import { closeAfterReply } from '../node-http.js';
import type { Plugin } from './plugin.js';

export interface RequestPluginOptions {
  /** Parse `application/json` (and `+json`) bodies into `ctx.json`. Default `true`. */
  readonly json?: boolean;
  /** Parse `application/x-www-form-urlencoded` bodies into `ctx.params`. Default `true`. */
  readonly form?: boolean;
  /** Largest body read, in bytes. Default 1 MiB. */
  readonly limit?: number;
}

const NAME = 'request';
const DEFAULT_LIMIT = 1024 * 1024;
const KNOWN_OPTIONS = new Set(['json', 'form', 'limit']);

// Nova skips GET and DELETE; HEAD and OPTIONS carry no meaningful body either. A body sent
// with them is left unread (Node discards it once the response is written).
const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

/**
 * Nova's `nova_request_plugin`: reads the request body and parses it by its content type. JSON
 * goes to `ctx.json`, urlencoded forms to `ctx.params` (the query string is already on
 * `ctx.query`). Unlike Nova, the content type is matched case-insensitively, `+json` types count
 * as JSON, and bodies over `limit` are refused with 413 instead of being read whole.
 *
 * Throws `NOVA_ERR_BAD_JSON` (400) for an empty or invalid JSON body, `NOVA_ERR_BAD_FORM` (400)
 * for a form that is not UTF-8, `NOVA_ERR_BODY_TOO_LARGE` (413) past the limit, and
 * `NOVA_ERR_BODY_TIMEOUT` (408) when the body stalls for the server's `bodyTimeout`.
 *
 * @example
 * ```ts
 * const app = createApp({ plugins: [requestPlugin({ limit: 64 * 1024 })], routes });
 * const create = (ctx: Context) => json({ created: ctx.json });
 * const login = (ctx: Context) => (ctx.params.username === 'ada' ? redirect('/') : view({}));
 * ```
 */
export function requestPlugin(options: RequestPluginOptions = {}): Plugin {
  const { json, form, limit } = validate(options);
  return {
    name: NAME,
    readsBody: true,
    async preRequest(ctx: Context) {
      if (BODYLESS_METHODS.has(ctx.method)) return;
      const type = mediaType(ctx.req.headers['content-type']);
      const kind = json && isJsonType(type) ? 'json' : form && type === 'application/x-www-form-urlencoded' ? 'form' : undefined;
      if (kind === undefined) return;
      // Reading a stream someone else already consumed would wait for an 'end' that never comes.
      if (ctx.req.readableDidRead || ctx.req.readableEnded) return;

      const body = await readBody(ctx, limit);
      if (kind === 'json') ctx.json = parseJson(body);
      else ctx.params = parseForm(body);
    },
  };
}

function validate(options: RequestPluginOptions): { json: boolean; form: boolean; limit: number } {
  if (typeof options !== 'object' || options === null) throw errors.pluginInvalid(NAME, 'options must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw errors.pluginInvalid(NAME, `unknown option "${key}" (known: json, form, limit)`);
  }
  const { json = true, form = true, limit = DEFAULT_LIMIT } = options;
  if (typeof json !== 'boolean') throw errors.pluginInvalid(NAME, '"json" must be a boolean');
  if (typeof form !== 'boolean') throw errors.pluginInvalid(NAME, '"form" must be a boolean');
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0) {
    throw errors.pluginInvalid(NAME, `"limit" must be a whole number of bytes, 0 or more (got ${String(limit)})`);
  }
  return { json, form, limit };
}

/** `Application/JSON; charset=utf-8` → `application/json`. */
function mediaType(header: string | undefined): string {
  if (header === undefined) return '';
  const semi = header.indexOf(';');
  return (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
}

function isJsonType(type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/**
 * Collect the body, never holding more than `limit` bytes. When the body is too large the
 * connection is marked `close`: what the client still sends is discarded rather than read to its
 * end, and the socket is closed once the 413 is written, so the next request on it cannot be
 * confused with the rest of this body. A body that stalls (the server's `bodyTimeout`, which
 * Node reports as the request's `'timeout'`) is dropped at once and answered 408, closing too.
 */
function readBody(ctx: Context, limit: number): Promise<Buffer> {
  const req = ctx.req;
  const tooLarge = () => {
    closeAfterReply(req, ctx.res);
    return errors.bodyTooLarge(limit);
  };

  // Decide from the declared length before reading a byte. Node's parser has already refused
  // malformed lengths, so a present header is a plain decimal number here.
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge());

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      req.off('timeout', onTimeout);
    };
    const onData = (chunk: Buffer | string) => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      size += buf.length;
      if (size > limit) {
        cleanup();
        // Keep draining into nothing until the response is out, so a client that writes its whole
        // body before reading still sees the 413; `connection: close` bounds how long that lasts.
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(buf);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(errors.bodyIncomplete(err.message));
    };
    // 'close' before 'end' means the client went away mid-body.
    const onClose = () => {
      cleanup();
      reject(errors.bodyIncomplete('the connection closed before the body ended'));
    };
    const onTimeout = () => {
      cleanup();
      closeAfterReply(req, ctx.res);
      reject(errors.bodyTimeout());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
    req.on('timeout', onTimeout);
    req.resume();
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decode(body: Buffer): string | undefined {
  try {
    return utf8.decode(body);
  } catch {
    return undefined;
  }
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw errors.badJson('the body is empty');
  const text = decode(body);
  if (text === undefined) throw errors.badJson('the body is not UTF-8');
  try {
    // JSON.parse defines `__proto__` as an own key, so a parsed body cannot change prototypes.
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw errors.badJson((err as Error).message);
  }
}

/**
 * Parsed exactly like the query string (WHATWG rules): malformed percent-escapes stay literal and
 * bad escaped UTF-8 becomes U+FFFD, so no input can make parsing throw. Only raw bytes that are
 * not UTF-8 are refused, since no browser sends those.
 */
function parseForm(body: Buffer): Record<string, string | string[]> {
  const text = decode(body);
  if (text === undefined) throw errors.badForm('the body is not UTF-8');
  return searchParamsToRecord(new URLSearchParams(text));
}
