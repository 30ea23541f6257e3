import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import { Context } from './context.js';

function ctxWith(headers: Record<string, string | string[]>, trustProxy: boolean): Context {
  const req = { method: 'GET', url: '/', headers, socket: { remoteAddress: '10.0.0.9' } } as unknown as IncomingMessage;
  return new Context(req, {} as ServerResponse, { trustProxy });
}

test('clientAddress under trustProxy is the last X-Forwarded-For entry: the one the nearest proxy wrote', () => {
  assert.equal(ctxWith({ 'x-forwarded-for': '6.6.6.6, 203.0.113.7' }, true).clientAddress, '203.0.113.7');
  assert.equal(ctxWith({ 'x-forwarded-for': ['6.6.6.6', '198.51.100.2 '] }, true).clientAddress, '198.51.100.2');
  assert.equal(ctxWith({ 'x-forwarded-for': '203.0.113.7' }, true).clientAddress, '203.0.113.7');
  assert.equal(ctxWith({ 'x-forwarded-for': '6.6.6.6,' }, true).clientAddress, '10.0.0.9');
});

test('clientAddress without trustProxy is the socket peer, whatever X-Forwarded-For says', () => {
  assert.equal(ctxWith({ 'x-forwarded-for': '6.6.6.6' }, false).clientAddress, '10.0.0.9');
});

function ctxAt(url: string): Context {
  const req = { method: 'GET', url, headers: {}, socket: {} } as unknown as IncomingMessage;
  return new Context(req, {} as ServerResponse, { trustProxy: false });
}

test('ctx.path is the normalised path the router matches; ctx.rawPath is what the client sent', () => {
  for (const [url, raw] of [
    ['/%61ny?x=1', '/%61ny'],
    ['//any/', '//any/'],
    ['http://evil.example/any?x=1', 'http://evil.example/any'],
    ['/x/%2e%2e/any', '/x/%2e%2e/any'],
  ]) {
    const ctx = ctxAt(url!);
    assert.equal(ctx.path, '/any', url);
    assert.equal(ctx.rawPath, raw, url);
    assert.equal(ctx.pathError, undefined);
  }
  assert.equal(ctxAt('http://evil.example/any?x=1').rawQuery, 'x=1');
  assert.equal(ctxAt('/%2561ny').path, '/%2561ny');
});

test('a request target that cannot be normalised keeps its raw path and carries a 400', () => {
  const ctx = ctxAt('/a%00b?q');
  assert.equal(ctx.path, '/a%00b');
  assert.equal(ctx.pathError?.code, 'NOVA_ERR_BAD_PATH');
  assert.equal(ctx.pathError?.status, 400);
});
