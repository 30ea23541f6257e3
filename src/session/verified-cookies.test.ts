import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { randomBytes } from 'node:crypto';
import { generateSessionId } from './id.js';
import { sessionSecrets, sign } from './signing.js';
import { VERIFIED_COOKIE_BYTES, VerifiedCookies, verifiedCookieLimit } from './verified-cookies.js';

/** A value shaped as `sign` makes it: a 43-character id, a dot, a 43-character MAC (canonical base64url: it ends in A). */
const id = (n: number | string) => String(n).padStart(43, 'i');
const mac = (n: number | string) => `${String(n).padStart(42, 'm')}A`;
const value = (n: number | string) => `${id(n)}.${mac(n)}`;

describe('VerifiedCookies', () => {
  it('returns what was added and nothing else', () => {
    const cache = new VerifiedCookies(4);
    cache.add(value(1), id(1));
    assert.equal(cache.get(value(1)), id(1));
    assert.equal(cache.get(value(2)), undefined);
    assert.equal(cache.get('__proto__'), undefined);
    assert.equal(cache.get(`${id(1)}.`), undefined);
  });

  it('does not take another spelling of a MAC it holds, nor characters outside base64url', () => {
    const cache = new VerifiedCookies(4);
    cache.add(value(1), id(1));
    // B is A plus one of the two bits past the MAC's 32 bytes: the same bytes, which verify refuses.
    assert.equal(cache.get(`${id(1)}.${mac(1).slice(0, 42)}B`), undefined);
    assert.equal(cache.get(`${id(1)}.${mac(1).slice(0, 41)}+A`), undefined);
    assert.equal(cache.get(`${id(1)}.${mac(1).slice(0, 41)}\u00e9A`), undefined);
    assert.equal(cache.get(value(1)), id(1));
  });

  it('does not take a known MAC in front of another id, or without its dot', () => {
    const cache = new VerifiedCookies(4);
    cache.add(value(1), id(1));
    assert.equal(cache.get(`${id(2)}.${mac(1)}`), undefined);
    assert.equal(cache.get(`${id(1)}x${mac(1)}`), undefined);
    cache.add(value(3), id(3));
    cache.add(value(4), id(4));
    cache.add(value(5), id(5));
    cache.add(value(6), id(6)); // value(1) is in the previous generation now
    assert.equal(cache.get(`${id(2)}.${mac(1)}`), undefined, 'nor from the previous generation');
    assert.equal(cache.get(value(1)), id(1));
  });

  it('holds at most two generations', () => {
    const cache = new VerifiedCookies(3);
    for (let i = 0; i < 100; i += 1) cache.add(value(i), id(i));
    assert.ok(cache.size <= 6, `size ${cache.size}`);
    assert.equal(cache.get(value(0)), undefined, 'old values are dropped');
    assert.equal(cache.get(value(99)), id(99));
  });

  it('keeps a value that is still in use across a generation change', () => {
    const cache = new VerifiedCookies(2);
    cache.add(value('hot'), id('hot'));
    cache.add(value('a'), id('a'));
    cache.add(value('b'), id('b')); // 'hot' and 'a' move to the previous generation
    assert.equal(cache.get(value('hot')), id('hot')); // found there, and promoted
    cache.add(value('c'), id('c'));
    cache.add(value('d'), id('d'));
    assert.equal(cache.get(value('hot')), id('hot'));
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
      const header = `${'x'.repeat(50_000)}${i};session_id=${value(i)}`;
      const cut = header.slice(header.indexOf('session_id=') + 11);
      cache.add(cut, cut.slice(0, 43));
    }
    const grown = heap() - before;
    // 2,000 headers of 50 KB are 100 MB; the MACs and ids themselves are about 300 KB.
    assert.ok(grown < 5 * 1024 * 1024, `the cache holds ${(grown / 1024 / 1024).toFixed(1)} MiB`);
    assert.equal(cache.get(value(1999)), id(1999));
  });
});

describe('VerifiedCookies: heap', () => {
  it('holds a value in under 100 bytes: its MAC as 32 bytes and a map slot', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = () => (gc(), gc(), process.memoryUsage().heapUsed);
    const secrets = sessionSecrets([randomBytes(32)]);
    const n = 50_000;
    const ids = Array.from({ length: n }, () => generateSessionId());
    const values = ids.map((i) => sign(i, secrets));
    const cache = new VerifiedCookies(n);
    const before = heap();
    for (let i = 0; i < n; i += 1) cache.remember(values[i]!, ids[i]!);
    const perValue = (heap() - before) / n;
    // Measured 92-93 bytes here; 109 with the MAC held as its 43 characters of text.
    assert.ok(perValue < 100, `${perValue.toFixed(1)} bytes a value`);
    assert.equal(cache.get(values[n - 1]!), ids[n - 1]);
  });
});

describe('verifiedCookieLimit', () => {
  it('holds every session the app allows in one generation, past the old fixed 16,384', () => {
    const cache = new VerifiedCookies(verifiedCookieLimit(20_000));
    for (let i = 0; i < 20_000; i += 1) cache.add(value(i), id(i));
    // One more would start a new generation; all 20,000 are still in the current one.
    assert.equal(cache.get(value(0)), id(0));
    assert.equal(cache.size, 20_000);
    assert.equal(verifiedCookieLimit(10), 16_384, 'a small app keeps the floor');
  });

  it('keeps both generations within a quarter of the store byte budget, which does not count them', () => {
    // 48 MiB: the budget under --max-old-space-size=192. A million allowed sessions must not let
    // a flood of logins cache a million MACs (about 320 MB in two generations) beside it.
    const budget = 48 * 2 ** 20;
    const limit = verifiedCookieLimit(1_000_000, budget);
    assert.ok(2 * limit * VERIFIED_COOKIE_BYTES <= budget / 4, `${limit} values per generation`);
    assert.ok(limit > 16_384, 'a budget this size still holds more than the floor');
    assert.equal(verifiedCookieLimit(1_000_000, 2 ** 40), 1_000_000, 'a big budget holds every allowed session');
  });
});

describe('VerifiedCookies.remember', () => {
  it('knows a value the process signed itself, and keeps it in the same two generations', () => {
    const cache = new VerifiedCookies(2);
    cache.remember(value(1), id(1));
    assert.equal(cache.get(value(1)), id(1));
    for (let i = 2; i <= 5; i += 1) cache.remember(value(i), id(i));
    assert.ok(cache.size <= 4, `size ${cache.size}`);
    assert.equal(cache.get(value(1)), undefined, 'old values are dropped');
  });
});
