import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { describe, it } from 'node:test';
import type { Reply } from '../results/reply.js';
import type { Headers } from '../results/result.js';
import { isPrivateCacheControl, keepOutOfSharedCaches } from './cache-safety.js';

/** Run the step on a reply with `headers` over a response with `earlier` set on it; what goes out. */
function out(headers: Headers, earlier: Record<string, string> = {}, varyCookie = true): Record<string, unknown> {
  const res = new ServerResponse(new IncomingMessage(new Socket()));
  for (const [name, value] of Object.entries(earlier)) res.setHeader(name, value);
  const reply: Reply = { status: 200, headers: { ...headers }, body: undefined };
  keepOutOfSharedCaches(res, reply, varyCookie);
  // As writeReply does: the reply's headers go over what was set earlier.
  for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
  return { ...res.getHeaders() };
}

describe('cache safety', () => {
  it('tells a private policy from one a shared cache may keep', () => {
    for (const v of ['private', 'no-store', 'private, max-age=60', 'max-age=0, No-Store', 'no-cache, private']) assert.ok(isPrivateCacheControl(v), v);
    for (const v of [
      '',
      'public, max-age=600',
      'max-age=60',
      'no-cache',
      'private, s-maxage=60',
      'public, no-store',
      'private="set-cookie", max-age=60',
      'privateish',
    ]) {
      assert.ok(!isPrivateCacheControl(v), v);
    }
  });

  it('makes a response private and uncacheable unless the app chose a private policy', () => {
    assert.equal(out({})['cache-control'], 'private, no-store');
    assert.equal(out({ 'cache-control': 'public, max-age=600' })['cache-control'], 'private, no-store');
    assert.equal(out({ 'cache-control': 'max-age=60' })['cache-control'], 'private, no-store', 'max-age alone lets shared caches keep it');
    assert.equal(out({ 'cache-control': 'private, max-age=60' })['cache-control'], 'private, max-age=60');
    assert.equal(out({ 'cache-control': 'no-store' })['cache-control'], 'no-store');
    assert.equal(out({}, { 'cache-control': 'private, max-age=5' })['cache-control'], 'private, max-age=5', 'set earlier on the response');
    assert.equal(out({}, { 'cache-control': 'public, max-age=5' })['cache-control'], 'private, no-store');
    assert.equal(out({ 'Cache-Control': 'Public, max-age=600' })['cache-control'], 'private, no-store', 'whatever the letter case');
  });

  it('adds Cookie to Vary, keeping what is there and never twice', () => {
    assert.equal(out({}).vary, 'Cookie');
    assert.equal(out({}, { vary: 'Origin' }).vary, 'Origin, Cookie', "cors()'s Vary, set earlier");
    assert.equal(out({ Vary: 'Accept' }).vary, 'Accept, Cookie');
    assert.equal(out({ vary: 'Origin, cookie' }).vary, 'Origin, cookie');
    assert.equal(out({ vary: '*' }).vary, '*');
    assert.equal(out({ vary: 'X-Cookie-Thing' }).vary, 'X-Cookie-Thing, Cookie');
    assert.equal(out({}, {}, false).vary, undefined, 'only when the session was used');
  });
});
