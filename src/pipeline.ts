import type { Logger, NovaConfig } from './config.js';
import { Context } from './context.js';
import { errors, NovaError, withCause } from './errors.js';
import type { NodeRequest, NodeResponse } from './node-http.js';
import { runPhase } from './plugins/plugin.js';
import type { Reply } from './results/reply.js';
import { toReply, type RespondEnv } from './results/respond.js';
import type { ControllerResult, Headers } from './results/result.js';
import type { SecurityHeaderSet } from './results/security-headers.js';
import { writeReply } from './results/write.js';
import type { CompiledRoute, Match, Router } from './router/router.js';
import { checkCrossOrigin } from './security/cross-origin.js';
import { decide } from './security/security.js';
import { errorReply } from './views/error-pages.js';

/** The session cookie step (Nova's `nova_stream_h`): runs right after routing on every request but a static route's, and last. */
export interface SessionStep {
  begin(ctx: Context): void;
  /** Add the session's `Set-Cookie`, if the request needs one, before the reply is written. */
  finish(ctx: Context, reply: Reply): void;
}

/** What the pipeline needs from the app, resolved once at start-up. */
export interface Runtime {
  readonly config: NovaConfig;
  readonly router: Router;
  readonly respond: RespondEnv;
  readonly sessions: SessionStep | undefined;
  /** The security headers of requests no route matched (a route carries its group's). */
  readonly securityHeaders: SecurityHeaderSet;
  readonly log: Logger;
}

/**
 * One request, top to bottom:
 * router → session cookie (not for a static route) → cross-origin check → pre-request plugins → security
 * → controller → result → post-request plugins → session cookie and cache directives out (not for a
 * static route) → write (with the route group's security headers).
 */
export async function handleRequest(rt: Runtime, req: NodeRequest, res: NodeResponse): Promise<void> {
  const ctx = new Context(req, res, rt.config);
  if (rt.config.serverHeader !== false) res.setHeader('server', rt.config.serverHeader);
  let reply: Reply;
  let securityHeaders = rt.securityHeaders;
  let sessions = rt.sessions;
  try {
    const match = ctx.pathError === undefined ? rt.router.find(ctx.method, ctx.path) : undefined;
    // The one exception to "every request has a session" (docs/design.md): a static file is the
    // same for every visitor, so its route reads no cookie and sets none, and nothing marks the
    // response private: browsers and shared caches may keep it.
    if (match?.kind === 'found' && match.route.static) sessions = undefined;
    sessions?.begin(ctx);
    if (match === undefined) throw ctx.pathError;
    if (match.kind === 'found') securityHeaders = match.route.securityHeaders;
    reply = match.kind === 'found' ? await routed(rt, ctx, match.route, match.bindings) : await unrouted(rt, ctx, match);
  } catch (err) {
    reply = await failure(rt, ctx, err);
  }
  sessions?.finish(ctx, reply);
  writeReply(res, reply, securityHeaders);
}

async function routed(rt: Runtime, ctx: Context, route: CompiledRoute, bindings: Record<string, string>): Promise<Reply> {
  ctx.bindings = bindings;
  ctx.route = route;
  // A refusal throws NOVA_ERR_CROSS_ORIGIN (403), answered by the status page like any error.
  checkCrossOrigin(route.crossOrigin, ctx);
  // Awaits only where something is asynchronous: most routes have no plugin hook in some phase,
  // many controllers answer synchronously, and every await costs a turn of the promise queue.
  const pre = route.pre.length > 0 ? runPhase(route.pre, 'preRequest', ctx) : undefined;
  const answered = isPromise(pre) ? await pre : pre;
  if (answered !== undefined) {
    ctx.reply = await toReply(ctx, answered, rt.respond);
  } else {
    const denied = route.security === false ? undefined : await checkSecurity(rt, ctx, route);
    if (denied !== undefined) {
      ctx.reply = denied;
    } else {
      const result = route.controller(ctx);
      const reply = toReply(ctx, isPromise(result) ? await result : result, rt.respond);
      ctx.reply = isPromise(reply) ? await reply : reply;
    }
  }
  if (route.post.length > 0) await runPhase(route.post, 'postRequest', ctx);
  return ctx.reply;
}

/** Run the route group's security function: `undefined` lets the request through, else the denial's reply. */
async function checkSecurity(rt: Runtime, ctx: Context, route: CompiledRoute): Promise<Reply | undefined> {
  const decision = decide(await runSecurity(route, ctx));
  if (decision.pass) {
    ctx.authData = decision.authData;
    return undefined;
  }
  if (decision.statusPage !== undefined && rt.router.statusPage(decision.statusPage) !== undefined) {
    const page = await statusPage(rt, ctx, decision.statusPage);
    // The denial's own headers (WWW-Authenticate, …) still go out with the page that renders it.
    Object.assign(page.headers, (decision.result as { headers?: Headers }).headers);
    return page;
  }
  return toReply(ctx, decision.result, rt.respond);
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as Promise<unknown> | undefined)?.then === 'function';
}

async function runSecurity(route: CompiledRoute, ctx: Context): Promise<unknown> {
  try {
    return await (route.security as Exclude<CompiledRoute['security'], false>)(ctx);
  } catch (err) {
    // A catalogue error keeps its status (a store outage is a 503); anything else is a 500, never a pass.
    if (err instanceof NovaError) throw err;
    throw withCause(errors.securityFailed(err instanceof Error ? err.message : String(err)), err);
  }
}

async function unrouted(rt: Runtime, ctx: Context, match: Exclude<Match, { kind: 'found' }>): Promise<Reply> {
  if (match.kind === 'not-found') return statusPage(rt, ctx, 404);
  // A CORS preflight targets a path, not a method: let the path's plugins answer it.
  if (ctx.method === 'OPTIONS' && match.routes[0] !== undefined) {
    const answered = await runPhase(match.routes[0].plugins, 'preRequest', ctx);
    if (answered !== undefined) return toReply(ctx, answered, rt.respond);
  }
  ctx.setHeader('allow', match.allow.join(', '));
  return { status: 405, headers: {}, body: undefined };
}

/** Render `status` through the app's status page if one is registered, else the built-in error page. */
async function statusPage(rt: Runtime, ctx: Context, status: number, error?: unknown): Promise<Reply> {
  const page = rt.router.statusPage(status);
  if (page !== undefined) {
    try {
      const result: ControllerResult = await page.controller(ctx);
      const reply = await toReply(ctx, result, rt.respond, page.controllerName);
      if ((result as { status?: unknown }).status === undefined) reply.status = status;
      return reply;
    } catch (err) {
      rt.log.error(`status page for ${status} failed`, err);
    }
  }
  if (!rt.config.renderErrorPages) return { status, headers: {}, body: undefined };
  return errorReply({
    status,
    accept: ctx.headers.accept,
    message: error instanceof NovaError ? error.message : undefined,
    error,
    showStack: rt.config.useStacktrace,
  });
}

async function failure(rt: Runtime, ctx: Context, err: unknown): Promise<Reply> {
  const status = err instanceof NovaError ? err.status : 500;
  // A full session store is a storm, not an incident per request: the session events summarise it;
  // a rate limit's store outage is warned about by the limiter, once per interval.
  const summarised = err instanceof NovaError && (err.code === errors.sessionStoreFull.code || err.code === errors.rateLimitStoreUnavailable.code);
  if (status >= 500 && !summarised) rt.log.error(`${ctx.method} ${ctx.path} failed${ctx.correlationId ? ` [${ctx.correlationId}]` : ''}:`, err);
  try {
    return await statusPage(rt, ctx, status, err);
  } catch (pageErr) {
    rt.log.error('error page failed', pageErr);
    return { status, headers: {}, body: undefined };
  }
}
