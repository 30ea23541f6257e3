/**
 * The framework's error responses (Nova's `nova_error_controller` and `nova_error.dtl`), with
 * Nova's gaps closed: every status is negotiated the same way, browsers get a real 500 page,
 * everything reflected is escaped, and 5xx details stay private unless stack traces are on.
 */
import { STATUS_CODES } from 'node:http';
import { fileURLToPath } from 'node:url';
import { NovaError } from '../errors.js';
import type { Reply } from '../results/reply.js';
import { negotiateErrorFormat } from './negotiate.js';
import { createViewEngine, type ViewEngine } from './views.js';

export interface ErrorReplyInput {
  /** An HTTP error status; anything outside 400–599 is answered as 500. */
  readonly status: number;
  /** The request's `Accept` header. */
  readonly accept: string | undefined;
  /** Shown for 4xx; for 5xx only when `showStack` is on. */
  readonly message?: string | undefined;
  /** What went wrong; its stack is shown only when `showStack` is on. */
  readonly error?: unknown;
  /** Nova's `use_stacktrace`: show internal messages and stack traces. Never on in production. */
  readonly showStack: boolean;
}

export interface ErrorPagesOptions {
  /** The engine that renders the HTML page. Default: the built-in `pages/` directory. */
  readonly views?: ViewEngine;
  /** The view it renders, given `status`, `title`, `message` and `stack`. Default `error`. */
  readonly view?: string;
}

const defaultMessages: Readonly<Record<number, string>> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Resource not found',
  405: 'Method not allowed',
  406: 'Not acceptable',
  408: 'Request timeout',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Unprocessable entity',
  429: 'Too many requests',
  500: 'Internal server error',
  501: 'Not implemented',
  502: 'Bad gateway',
  503: 'Service unavailable',
  504: 'Gateway timeout',
};

const charset = '; charset=utf-8';

/**
 * Build an error replier that renders its HTML page with the given views (for apps that bring
 * their own error template); {@link errorReply} is the one with the built-in page.
 *
 * @example
 * ```ts
 * const reply = createErrorReplier({ views: createViewEngine({ dir: './views' }), view: 'oops' });
 * const r = await reply({ status: 404, accept: 'text/html', showStack: false });
 * ```
 */
export function createErrorReplier(options: ErrorPagesOptions = {}): (input: ErrorReplyInput) => Promise<Reply> {
  const views = options.views ?? createViewEngine({ dir: fileURLToPath(new URL('./pages/', import.meta.url)) });
  const view = options.view ?? 'error';

  return async (input) => {
    const status = Number.isInteger(input.status) && input.status >= 400 && input.status <= 599 ? input.status : 500;
    const message = messageFor(status, input);
    const stack = input.showStack ? stackOf(input.error) : undefined;
    const headers = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

    switch (negotiateErrorFormat(input.accept)) {
      case 'json': {
        const body = safeJson(stack === undefined ? { status, message } : { status, message, stack });
        return { status, headers: { 'content-type': `application/json${charset}`, ...headers }, body };
      }
      case 'html': {
        const vars = { status, title: STATUS_CODES[status] ?? 'Error', message, stack };
        return { status, headers: { 'content-type': `text/html${charset}`, ...headers }, body: await renderPage(views, view, vars) };
      }
      case 'plain': {
        const body = stack === undefined ? message : `${message}\n\n${stack}`;
        return { status, headers: { 'content-type': `text/plain${charset}`, ...headers }, body };
      }
    }
  };
}

/**
 * The framework's error response for a status, negotiated on `Accept`: JSON
 * (`{"status":404,"message":"Resource not found"}`) for API clients and no/`*\/*` Accept, the
 * HTML error page for browsers, plain text otherwise.
 *
 * @example
 * ```ts
 * const reply = await errorReply({ status: 404, accept: ctx.headers.accept, showStack: false });
 * // { status: 404, headers: { 'content-type': 'application/json; charset=utf-8', … }, body: '{"status":404,…}' }
 * ```
 */
export function errorReply(input: ErrorReplyInput): Promise<Reply> {
  defaultReplier ??= createErrorReplier();
  return defaultReplier(input);
}

let defaultReplier: ((input: ErrorReplyInput) => Promise<Reply>) | undefined;

/**
 * The caller's words are fine for 4xx (the client's own mistake, written for it). A 5xx message
 * usually comes from deep inside the app, so it is shown only in stack-trace mode.
 */
function messageFor(status: number, input: ErrorReplyInput): string {
  const fallback = defaultMessages[status] ?? sentenceCase(STATUS_CODES[status]) ?? (status >= 500 ? 'Server error' : 'Client error');
  if (status >= 500 && !input.showStack) return fallback;
  if (input.message !== undefined && input.message !== '') return input.message;
  const { error } = input;
  // Catalogue 4xx errors are written for clients; arbitrary errors may carry internals.
  if (status < 500 && error instanceof NovaError && error.status === status) return error.message;
  if (status >= 500 && error instanceof Error && error.message !== '') return error.message;
  return fallback;
}

function sentenceCase(phrase: string | undefined): string | undefined {
  return phrase === undefined ? undefined : phrase.charAt(0) + phrase.slice(1).toLowerCase();
}

/** The error's stack and those of its causes, a few levels deep. */
function stackOf(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    parts.push(current.stack ?? `${current.name}: ${current.message}`);
    current = current.cause;
  }
  return parts.join('\nCaused by: ');
}

/** JSON that stays inert even if sniffed or pasted into HTML: `<`, `>`, `&` and line separators as `\u` escapes. */
function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * An error page must not itself fail: if the template cannot be rendered (deleted, broken), fall
 * back to a minimal page built here, escaped by hand.
 */
async function renderPage(
  views: ViewEngine,
  view: string,
  vars: { status: number; title: string; message: string; stack: string | undefined },
): Promise<string> {
  try {
    return await views.render(view, vars);
  } catch {
    const stack = vars.stack === undefined ? '' : `<pre>${escapeHtml(vars.stack)}</pre>`;
    const heading = `${vars.status} ${escapeHtml(vars.title)}`;
    return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${heading}</title></head><body><h1>${heading}</h1><p>${escapeHtml(vars.message)}</p>${stack}</body></html>`;
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
