import { randomUUID } from 'node:crypto';
import type { Context } from '../context.js';
import { errors } from '../errors.js';
import type { Plugin } from './plugin.js';

export interface CorrelationIdOptions {
  /** The request header an incoming id is read from, and the response header it is sent in. */
  readonly header?: string;
}

const NAME = 'correlation-id';
const KNOWN_OPTIONS = new Set(['header']);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// The id ends up in logs and response headers: a short, plain id cannot forge log lines, smuggle
// markup into a log viewer, or bloat every line. Anything else is replaced, not cleaned.
const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Nova's `nova_correlation_plugin`: gives every request an id for tracing it across services.
 * A well-formed id from the caller (a proxy or another service) is kept; otherwise a new UUID v4
 * is made. The id is on `ctx.correlationId` and sent back in the same header.
 *
 * @example
 * ```ts
 * const app = createApp({ plugins: [correlationId({ header: 'x-request-id' })], routes });
 * const show = (ctx: Context) => { log.info({ id: ctx.correlationId }, 'show'); return json({}); };
 * ```
 */
export function correlationId(options: CorrelationIdOptions = {}): Plugin {
  const header = validate(options);
  return {
    name: NAME,
    preRequest(ctx: Context) {
      // Node joins repeated custom headers with ", ", which fails the check and gets a fresh id.
      const incoming = ctx.req.headers[header];
      const id = typeof incoming === 'string' && SANE_ID.test(incoming) ? incoming : randomUUID();
      ctx.correlationId = id;
      ctx.setHeader(header, id);
    },
  };
}

function validate(options: CorrelationIdOptions): string {
  if (typeof options !== 'object' || options === null) throw errors.pluginInvalid(NAME, 'options must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw errors.pluginInvalid(NAME, `unknown option "${key}" (known: header)`);
  }
  const { header = 'x-correlation-id' } = options;
  if (typeof header !== 'string' || !HEADER_NAME.test(header)) {
    throw errors.pluginInvalid(NAME, `"header" must be a header name (got ${JSON.stringify(header)})`);
  }
  // Node lower-cases incoming header names.
  return header.toLowerCase();
}
