import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VerifiedCookies } from './verified-cookies.js';

describe('VerifiedCookies', () => {
  it('returns what was added and nothing else', () => {
    const cache = new VerifiedCookies(4);
    cache.add('v1', 'id1');
    assert.equal(cache.get('v1'), 'id1');
    assert.equal(cache.get('v2'), undefined);
    assert.equal(cache.get('__proto__'), undefined);
  });

  it('holds at most two generations', () => {
    const cache = new VerifiedCookies(3);
    for (let i = 0; i < 100; i += 1) cache.add(`v${i}`, `id${i}`);
    assert.ok(cache.size <= 6, `size ${cache.size}`);
    assert.equal(cache.get('v0'), undefined, 'old values are dropped');
    assert.equal(cache.get('v99'), 'id99');
  });

  it('keeps a value that is still in use across a generation change', () => {
    const cache = new VerifiedCookies(2);
    cache.add('hot', 'id');
    cache.add('a', '1');
    cache.add('b', '2'); // 'hot' and 'a' move to the previous generation
    assert.equal(cache.get('hot'), 'id'); // found there, and promoted
    cache.add('c', '3');
    cache.add('d', '4');
    assert.equal(cache.get('hot'), 'id');
  });
});
