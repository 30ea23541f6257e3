/**
 * Security headers (helmet's set, chosen for a framework that serves HTML and JSON): worked out
 * once at start-up for the app and for each route group, then put on every reply by `writeReply`
 * with a few `setHeader` calls. A header the app set itself is never overwritten.
 */
import type { NodeResponse } from '../node-http.js';
import { z } from 'zod';

/** The headers Nova.ts sends by default, and their values. */
export const DEFAULT_SECURITY_HEADERS = {
  /** Every response: the browser must believe the Content-Type, never sniff HTML out of JSON or text. */
  'x-content-type-options': 'nosniff',
  /** HTML: no other site may frame the page (clickjacking), for browsers without CSP. */
  'x-frame-options': 'DENY',
  /** HTML: the same with CSP; `frame-ancestors` only, so no script or style of the app breaks. */
  'content-security-policy': "frame-ancestors 'none'",
  /** HTML: other sites learn the origin at most, never a path or query that may hold a token. */
  'referrer-policy': 'strict-origin-when-cross-origin',
  /** HTML: a page opened from another site gets no handle on this one's window (Django's default). */
  'cross-origin-opener-policy': 'same-origin',
} as const;

export type SecurityHeaderName = keyof typeof DEFAULT_SECURITY_HEADERS;

/**
 * Which security headers to send, over the defaults: a header name with a value to send instead,
 * or `false` to send none. `securityHeaders: false` (globally or on a route group) sends none at all.
 *
 * @example
 * ```ts
 * createApp({
 *   securityHeaders: { 'referrer-policy': 'same-origin' },
 *   routes: [{ prefix: '/embed', securityHeaders: { 'x-frame-options': false, 'content-security-policy': "frame-ancestors https://partner.example" }, routes }],
 * });
 * ```
 */
export type SecurityHeadersOptions = { readonly [K in SecurityHeaderName]?: string | false };

/** Sent on every response; the others only on HTML. */
const EVERYWHERE: readonly SecurityHeaderName[] = ['x-content-type-options'];

const PRINTABLE = /^[\x20-\x7e]+$/;
const REFERRER_POLICIES = [
  'no-referrer',
  'no-referrer-when-downgrade',
  'origin',
  'origin-when-cross-origin',
  'same-origin',
  'strict-origin',
  'strict-origin-when-cross-origin',
  'unsafe-url',
];

/** A header's setting: `false`, or a value `valid` accepts (described by `expected`). */
const setting = (valid: (value: string) => boolean, expected: string) =>
  z.custom<string | false>((v) => v === false || (typeof v === 'string' && valid(v)), { message: `must be false or ${expected}` }).optional();
const oneOf = (values: readonly string[]) => setting((v) => values.includes(v), values.map((v) => `"${v}"`).join(', '));

const optionsSchema = z
  .object({
    'x-content-type-options': oneOf(['nosniff']),
    // ALLOW-FROM is ignored by every current browser: a page meant to be framed by one site says so with CSP.
    'x-frame-options': oneOf(['DENY', 'SAMEORIGIN']),
    'content-security-policy': setting((v) => PRINTABLE.test(v), 'a policy in printable ASCII (no CR or LF)'),
    // A comma-separated list is a fallback chain: the browser takes the last policy it knows.
    'referrer-policy': setting((v) => v.split(',').every((p) => REFERRER_POLICIES.includes(p.trim())), `one or more of ${REFERRER_POLICIES.join(', ')}`),
    'cross-origin-opener-policy': oneOf(['same-origin', 'same-origin-allow-popups', 'noopener-allow-popups', 'unsafe-none']),
  })
  .strict();

/** Why a `securityHeaders` setting is invalid: where (the header) and what is wrong, or `undefined` when it is fine. */
export function securityHeadersProblem(value: unknown): { readonly path: readonly string[]; readonly message: string } | undefined {
  if (value === undefined || value === false) return undefined;
  const parsed = optionsSchema.safeParse(value);
  if (parsed.success) return undefined;
  const issue = parsed.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    return { path: issue.keys, message: `unknown header (known: ${Object.keys(DEFAULT_SECURITY_HEADERS).join(', ')})` };
  }
  if (issue.path.length === 0) return { path: [], message: 'must be false or an object of headers' };
  return { path: issue.path.map(String), message: issue.message };
}

/**
 * The headers one route (or the app, for requests no route matched) sends, as flat
 * `[name, value, name, value, …]` lists so that applying them allocates nothing.
 */
export interface SecurityHeaderSet {
  readonly everywhere: readonly string[];
  readonly html: readonly string[];
}

/** Resolved settings: every header name with the value to send, or `false`. */
export type ResolvedSecurityHeaders = { readonly [K in SecurityHeaderName]: string | false };

const OFF: ResolvedSecurityHeaders = {
  'x-content-type-options': false,
  'x-frame-options': false,
  'content-security-policy': false,
  'referrer-policy': false,
  'cross-origin-opener-policy': false,
};

/**
 * Resolve a `securityHeaders` setting over `base` (the defaults, or the app's setting for a
 * group): `false` turns every header off, an object changes the headers it names. Returns a
 * message instead when the setting is invalid.
 */
export function resolveSecurityHeaders(
  value: unknown,
  base: ResolvedSecurityHeaders = DEFAULT_SECURITY_HEADERS,
): ResolvedSecurityHeaders | { readonly invalid: string } {
  if (value === undefined) return base;
  const problem = securityHeadersProblem(value);
  if (problem !== undefined) return { invalid: problem.path.length === 0 ? problem.message : `"${problem.path.join('.')}": ${problem.message}` };
  if (value === false) return OFF;
  const merged: Record<string, string | false> = { ...base };
  for (const [name, v] of Object.entries(value as SecurityHeadersOptions)) if (v !== undefined) merged[name] = v;
  return merged as ResolvedSecurityHeaders;
}

/** The lists `applySecurityHeaders` walks, built once per app and route group. */
export function compileSecurityHeaders(resolved: ResolvedSecurityHeaders): SecurityHeaderSet {
  const everywhere: string[] = [];
  const html: string[] = [];
  for (const name of Object.keys(DEFAULT_SECURITY_HEADERS) as SecurityHeaderName[]) {
    const value = resolved[name];
    if (value === false) continue;
    (EVERYWHERE.includes(name) ? everywhere : html).push(name, value);
  }
  return { everywhere, html };
}

/** The media types a browser renders as a document that could be framed. */
const HTML = /^\s*(?:text\/html|application\/xhtml\+xml)\b/i;

/**
 * Put the security headers on a response whose own headers are already set: those it carries
 * already (the app's choice) are kept. A page that sets its own `Content-Security-Policy` keeps
 * it as it is, `frame-ancestors` or not; `X-Frame-Options` still guards it from framing.
 */
export function applySecurityHeaders(res: NodeResponse, set: SecurityHeaderSet): void {
  const everywhere = set.everywhere;
  for (let i = 0; i < everywhere.length; i += 2) {
    if (!res.hasHeader(everywhere[i]!)) res.setHeader(everywhere[i]!, everywhere[i + 1]!);
  }
  const html = set.html;
  if (html.length === 0) return;
  const type = res.getHeader('content-type');
  if (typeof type !== 'string' || !HTML.test(type)) return;
  for (let i = 0; i < html.length; i += 2) {
    if (!res.hasHeader(html[i]!)) res.setHeader(html[i]!, html[i + 1]!);
  }
}
