import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SESSION_ID_LENGTH, generateSessionId, isWellFormedId } from './id.js';

describe('generateSessionId', () => {
  it('is 43 base64url characters that decode to 32 bytes and re-encode to the same text', () => {
    const id = generateSessionId();
    assert.equal(id.length, SESSION_ID_LENGTH);
    assert.match(id, /^[A-Za-z0-9_-]{43}$/);
    const bytes = Buffer.from(id, 'base64url');
    assert.equal(bytes.length, 32);
    assert.equal(bytes.toString('base64url'), id);
    assert.ok(isWellFormedId(id));
  });

  it('gives no repeats over 100,000 ids (many pool refills)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) seen.add(generateSessionId());
    assert.equal(seen.size, 100_000);
  });

  it('spreads bytes evenly (no zeroed or reused pool slices)', () => {
    const counts = new Array<number>(256).fill(0);
    const n = 4000;
    for (let i = 0; i < n; i++) for (const b of Buffer.from(generateSessionId(), 'base64url')) counts[b]!++;
    const expected = (n * 32) / 256; // 500 per value
    for (const c of counts) assert.ok(c > expected * 0.7 && c < expected * 1.3, `byte count ${c} far from ${expected}`);
  });

  it('does not depend on Math.random', () => {
    const original = Math.random;
    Math.random = () => 0.5;
    try {
      const ids = new Set(Array.from({ length: 300 }, () => generateSessionId()));
      assert.equal(ids.size, 300);
    } finally {
      Math.random = original;
    }
  });
});

describe('isWellFormedId', () => {
  const good = generateSessionId();
  it('accepts generated ids', () => assert.equal(isWellFormedId(good), true));

  const bad: [string, unknown][] = [
    ['empty', ''],
    ['one short', good.slice(1)],
    ['one long', `${good}A`],
    ['standard base64 "+"', `+${good.slice(1)}`],
    ['standard base64 "/"', `/${good.slice(1)}`],
    ['padding', `${good.slice(0, 42)}=`],
    ['non-canonical last character', `${good.slice(0, 42)}B`],
    ['a dot', `${good.slice(0, 42)}.`],
    ['unicode of the same length', `é${good.slice(1)}`],
    ['NUL', `\u0000${good.slice(1)}`],
    ['__proto__', '__proto__'],
    ['a path', '../../../../../../../../../../../etc/passwd'],
    ['a number', 12345],
    ['null', null],
    ['an object that prints as an id', { toString: () => good }],
    ['a Buffer', Buffer.from(good)],
  ];
  for (const [label, value] of bad) {
    it(`refuses ${label}`, () => assert.equal(isWellFormedId(value), false));
  }
});
