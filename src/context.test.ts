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
