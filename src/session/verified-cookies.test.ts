import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { VerifiedCookies, verifiedCookieLimit } from './verified-cookies.js';

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

  it('does not keep the Cookie header a value was cut from alive', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = () => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const cache = new VerifiedCookies(2_000);
    const before = heap();
    for (let i = 0; i < 2_000; i += 1) {
      // What a request with many cookies gives the session step: a short slice of a long header.
      const header = `${'x'.repeat(50_000)}${i};session_id=${'v'.repeat(70)}.${String(i).padStart(16, '0')}`;
      const value = header.slice(header.indexOf('session_id=') + 11);
      cache.add(value, value.slice(0, 43));
    }
    const grown = heap() - before;
    // 2,000 headers of 50 KB are 100 MB; the values and ids themselves are about 300 KB.
    assert.ok(grown < 5 * 1024 * 1024, `the cache holds ${(grown / 1024 / 1024).toFixed(1)} MiB`);
    assert.equal(cache.get(`${'v'.repeat(70)}.${String(1999).padStart(16, '0')}`), 'v'.repeat(43));
  });
});

describe('verifiedCookieLimit', () => {
  it('holds every session the app allows in one generation, past the old fixed 16,384', () => {
    const cache = new VerifiedCookies(verifiedCookieLimit(20_000));
    for (let i = 0; i < 20_000; i += 1) cache.add(`v${i}`, `id${i}`);
    // One more would start a new generation; all 20,000 are still in the current one.
    assert.equal(cache.get('v0'), 'id0');
    assert.equal(cache.size, 20_000);
    assert.equal(verifiedCookieLimit(10), 16_384, 'a small app keeps the floor');
  });
});

describe('VerifiedCookies.remember', () => {
  it('knows a value the process signed itself, and keeps it in the same two generations', () => {
    const cache = new VerifiedCookies(2);
    cache.remember('signed-1', 'id1');
    assert.equal(cache.get('signed-1'), 'id1');
    cache.remember('signed-2', 'id2');
    cache.remember('signed-3', 'id3');
    cache.remember('signed-4', 'id4');
    cache.remember('signed-5', 'id5');
    assert.ok(cache.size <= 4, `size ${cache.size}`);
    assert.equal(cache.get('signed-1'), undefined, 'old values are dropped');
  });
});
