import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { describe, it } from 'node:test';
import {
  applySecurityHeaders,
  compileSecurityHeaders,
  DEFAULT_SECURITY_HEADERS,
  resolveSecurityHeaders,
  type ResolvedSecurityHeaders,
  type SecurityHeaderSet,
} from './security-headers.js';

function resolved(setting: unknown, base?: ResolvedSecurityHeaders): ResolvedSecurityHeaders {
  const r = resolveSecurityHeaders(setting, base);
  if ('invalid' in r) assert.fail(`unexpected: ${r.invalid}`);
  return r;
}

function invalid(setting: unknown): string {
  const r = resolveSecurityHeaders(setting);
  assert.ok('invalid' in r, `expected ${JSON.stringify(setting)} to be refused`);
  return r.invalid as string;
}

/** A response nobody will send: enough to set and read headers on. */
function response(headers: Record<string, string> = {}): ServerResponse {
  const res = new ServerResponse(new IncomingMessage(new Socket()));
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  return res;
}

function applied(set: SecurityHeaderSet, headers: Record<string, string> = {}): Record<string, unknown> {
  const res = response(headers);
  applySecurityHeaders(res, set);
  return { ...res.getHeaders() };
}

const defaults = compileSecurityHeaders(DEFAULT_SECURITY_HEADERS);

describe('security headers: settings', () => {
  it('defaults to nosniff everywhere, and framing, referrer and opener policies on HTML', () => {
    assert.deepEqual(resolved(undefined), DEFAULT_SECURITY_HEADERS);
    assert.deepEqual(defaults.everywhere, ['x-content-type-options', 'nosniff']);
    assert.deepEqual(defaults.html, [
      'x-frame-options',
      'DENY',
      'content-security-policy',
      "frame-ancestors 'none'",
      'referrer-policy',
      'strict-origin-when-cross-origin',
      'cross-origin-opener-policy',
      'same-origin',
    ]);
  });

  it('false turns every header off; an object changes only the headers it names', () => {
    assert.deepEqual(compileSecurityHeaders(resolved(false)), { everywhere: [], html: [] });
    const r = resolved({ 'x-frame-options': false, 'referrer-policy': 'same-origin' });
    assert.equal(r['x-frame-options'], false);
    assert.equal(r['referrer-policy'], 'same-origin');
    assert.equal(r['x-content-type-options'], 'nosniff');
    assert.equal(r['content-security-policy'], "frame-ancestors 'none'");
  });

  it('a group setting applies over the app one, which may itself have turned headers off', () => {
    const app = resolved({ 'cross-origin-opener-policy': false });
    assert.equal(resolved({ 'x-frame-options': 'SAMEORIGIN' }, app)['cross-origin-opener-policy'], false);
    assert.equal(resolved({ 'x-frame-options': 'SAMEORIGIN' }, app)['x-frame-options'], 'SAMEORIGIN');
    const none = resolved(false);
    assert.deepEqual(compileSecurityHeaders(resolved({ 'x-content-type-options': 'nosniff' }, none)), {
      everywhere: ['x-content-type-options', 'nosniff'],
      html: [],
    });
    assert.deepEqual(resolved(undefined, app), app, 'a group without the option keeps the app setting');
  });

  it('refuses unknown headers and values a browser would ignore or that could split the header', () => {
    assert.match(invalid({ 'x-frame-option': 'DENY' }), /x-frame-option.*unknown header/);
    assert.match(invalid({ 'x-frame-options': 'ALLOW-FROM https://a.example' }), /x-frame-options.*"DENY", "SAMEORIGIN"/);
    assert.match(invalid({ 'content-security-policy': "default-src 'self'\r\nSet-Cookie: x=y" }), /content-security-policy.*printable/);
    assert.match(invalid({ 'referrer-policy': 'never' }), /referrer-policy/);
    assert.match(invalid({ 'x-content-type-options': true }), /x-content-type-options/);
    assert.match(invalid(true), /must be false or an object/);
    assert.match(invalid({ 'x-content-type-options': true }), /"x-content-type-options": must be false or "nosniff"/);
    assert.equal(
      resolved({ 'referrer-policy': 'no-referrer, strict-origin-when-cross-origin' })['referrer-policy'],
      'no-referrer, strict-origin-when-cross-origin',
    );
  });
});

describe('security headers: on a response', () => {
  it('puts nosniff on every response, the HTML ones only on HTML', () => {
    const json = applied(defaults, { 'content-type': 'application/json; charset=utf-8' });
    assert.equal(json['x-content-type-options'], 'nosniff');
    assert.equal(json['x-frame-options'], undefined);
    assert.equal(json['referrer-policy'], undefined);
    const bare = applied(defaults);
    assert.deepEqual(Object.keys(bare), ['x-content-type-options'], 'a reply without a body type (a redirect, a 405)');
    for (const type of ['text/html; charset=utf-8', 'TEXT/HTML', 'application/xhtml+xml']) {
      const html = applied(defaults, { 'content-type': type });
      assert.equal(html['x-frame-options'], 'DENY', type);
      assert.equal(html['content-security-policy'], "frame-ancestors 'none'");
      assert.equal(html['referrer-policy'], 'strict-origin-when-cross-origin');
      assert.equal(html['cross-origin-opener-policy'], 'same-origin');
      assert.equal(html['x-content-type-options'], 'nosniff');
    }
    assert.equal(applied(defaults, { 'content-type': 'text/htmlx' })['x-frame-options'], undefined);
  });

  it('never overwrites a header the app set, in whatever letter case', () => {
    const html = applied(defaults, {
      'Content-Type': 'text/html',
      'X-Frame-Options': 'SAMEORIGIN',
      'Content-Security-Policy': "default-src 'self'",
      'referrer-policy': 'no-referrer',
    });
    assert.equal(html['x-frame-options'], 'SAMEORIGIN');
    assert.equal(html['content-security-policy'], "default-src 'self'", "the app's own policy is left as it is");
    assert.equal(html['referrer-policy'], 'no-referrer');
    assert.equal(html['cross-origin-opener-policy'], 'same-origin');
  });

  it('sends nothing when turned off', () => {
    assert.deepEqual(applied(compileSecurityHeaders(resolved(false)), { 'content-type': 'text/html' }), { 'content-type': 'text/html' });
  });
});
