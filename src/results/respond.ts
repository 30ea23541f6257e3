import { stat } from 'node:fs/promises';
import type { Context } from '../context.js';
import { FlashDrop } from '../session/flash.js';
import { errors } from '../errors.js';
import { encodeRedirectTarget } from './redirect-target.js';
import type { FileBody, Reply } from './reply.js';
import { UNNAMED_CONTROLLER } from '../router/routes.js';
import { staticReply } from '../static/send-file.js';
import { isBuiltInResult, type ControllerResult, type Headers, type Result, type ViewResult } from './result.js';

/** Renders a named view; `createViewEngine` provides one. */
export interface ViewRenderer {
  render(name: string, vars: Record<string, unknown>): Promise<string>;
}

/**
 * Nova's fallback controller: resolves results no built-in handler knows into ones it does.
 *
 * @example
 * ```ts
 * const fallback: FallbackController = (ctx, result) =>
 *   result.kind === 'text' ? status(200, { body: String(result.text) }) : undefined;
 * ```
 */
export type FallbackController = (ctx: Context, result: ControllerResult) => ControllerResult | undefined | Promise<ControllerResult | undefined>;

export interface RespondEnv {
  readonly views: ViewRenderer | undefined;
  readonly fallback: FallbackController | undefined;
}

const HTML = 'text/html; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT = 'text/plain; charset=utf-8';
/** A fallback that keeps returning unknown results must not loop forever. */
const MAX_FALLBACK_DEPTH = 8;

/**
 * Turn whatever a controller (or a denial, or a plugin) returned into a reply. This is the only
 * place results become responses. JSON, status and redirect results resolve synchronously: most
 * requests end in one of them, and a promise each would cost every request a turn of the queue.
 */
export function toReply(ctx: Context, value: unknown, env: RespondEnv, defaultView?: string): Reply | Promise<Reply> {
  if (isBuiltInResult(value)) return build(ctx, value, env, defaultView);
  return resolveCustom(ctx, value, env, defaultView);
}

async function resolveCustom(ctx: Context, value: unknown, env: RespondEnv, defaultView: string | undefined): Promise<Reply> {
  let result = value;
  for (let depth = 0; !isBuiltInResult(result); depth += 1) {
    if (env.fallback === undefined || depth === MAX_FALLBACK_DEPTH || !isResultLike(result)) {
      throw errors.unknownResult(describe(result));
    }
    const resolved = await env.fallback(ctx, result);
    if (resolved === undefined) throw errors.unknownResult(describe(result));
    result = resolved;
  }
  return build(ctx, result, env, defaultView);
}

function build(ctx: Context, result: Result, env: RespondEnv, defaultView: string | undefined): Reply | Promise<Reply> {
  switch (result.kind) {
    case 'json':
      return {
        // Nova answers a POST's JSON with 201 Created.
        status: result.status ?? (ctx.method === 'POST' ? 201 : 200),
        headers: { 'content-type': JSON_TYPE, ...result.headers },
        body: JSON.stringify(result.body),
      };
    case 'view':
      return viewReply(ctx, result, env, defaultView);
    case 'status':
      return statusReply(result.status, result.headers, result.body);
    case 'redirect':
      // Encoded again for results built by hand (Nova-style literals): a no-op for redirect()'s own.
      return { status: result.status, headers: { location: encodeRedirectTarget(result.location) }, body: undefined };
    case 'sendfile':
      return fileReply(result.path, result);
    case 'static-file':
      return staticReply(ctx, result.file, result.options);
  }
}

async function viewReply(ctx: Context, result: ViewResult, env: RespondEnv, defaultView: string | undefined): Promise<Reply> {
  if (env.views === undefined) throw errors.viewsNotConfigured();
  const name = result.view ?? defaultView ?? ctx.route?.controllerName ?? 'index';
  // An inline arrow has no name to find its view by: say how to name one rather than look for "anonymous".
  if (result.view === undefined && name === UNNAMED_CONTROLLER) throw errors.viewUnnamed(ctx.route?.path ?? ctx.path);
  // Flash messages are there for every view without being passed; a view's own `flash` wins.
  const vars = ctx.session === undefined || 'flash' in result.vars ? result.vars : { flash: new FlashDrop(ctx), ...result.vars };
  const html = await env.views.render(name, vars);
  // Like Nova, `headers` replaces the defaults rather than merging into them.
  // A copy: post-request plugins and the session step may add to a reply's headers.
  return { status: result.status ?? 200, headers: result.headers ? { ...result.headers } : { 'content-type': HTML }, body: html };
}

function statusReply(code: number, headers: Headers | undefined, body: unknown): Reply {
  if (body === undefined || body === null) return { status: code, headers: { ...headers }, body: undefined };
  if (typeof body === 'string') return { status: code, headers: { 'content-type': TEXT, ...headers }, body };
  if (Buffer.isBuffer(body)) return { status: code, headers: { 'content-type': 'application/octet-stream', ...headers }, body };
  return { status: code, headers: { 'content-type': JSON_TYPE, ...headers }, body: JSON.stringify(body) };
}

async function fileReply(
  path: string,
  options: { status?: number | undefined; headers?: Headers | undefined; mime?: string | undefined; offset?: number | undefined; length?: number | undefined },
): Promise<Reply> {
  for (const [name, value] of [
    ['offset', options.offset],
    ['length', options.length],
  ] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw errors.resultInvalid(`sendfile ${name} must be a whole number of bytes, 0 or more (got ${String(value)})`);
    }
  }
  const info = await stat(path);
  const start = options.offset ?? 0;
  const available = Math.max(0, info.size - start);
  const length = Math.min(options.length ?? available, available);
  const body: FileBody = { file: path, start, end: length === 0 ? undefined : start + length - 1 };
  return {
    status: options.status ?? 200,
    headers: {
      'content-type': options.mime ?? 'application/octet-stream',
      'content-length': String(length),
      ...options.headers,
    },
    body: length === 0 ? '' : body,
  };
}

function isResultLike(value: unknown): value is ControllerResult {
  return typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string';
}

function describe(value: unknown): string {
  if (isResultLike(value)) return `a result of kind "${value.kind}"`;
  if (value === undefined) return 'undefined (did the controller forget to return?)';
  return `a ${value === null ? 'null' : typeof value}`;
}
