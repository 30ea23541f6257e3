import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TimeQueue } from './time-queue.js';

describe('TimeQueue', () => {
  it('is empty at first', () => {
    const q = new TimeQueue<object>();
    assert.equal(q.entry, undefined);
  });

  it('gives entries back in order with their times, across chunk boundaries', () => {
    const q = new TimeQueue<{ n: number }>();
    const n = 40_000; // more than two chunks
    for (let i = 0; i < n; i++) q.push({ n: i }, i * 1.5);
    for (let i = 0; i < n; i++) {
      assert.equal(q.entry?.n, i);
      assert.equal(q.at, i * 1.5);
      q.shift();
    }
    assert.equal(q.entry, undefined);
  });

  it('keeps working when emptied mid-chunk, at a chunk end, and refilled', () => {
    const q = new TimeQueue<{ n: number }>();
    let next = 0;
    let expected = 0;
    for (const batch of [3, 16_381, 16_384, 1, 20_000]) {
      for (let i = 0; i < batch; i++) q.push({ n: next++ }, 0);
      while (q.entry !== undefined) {
        assert.equal(q.entry.n, expected++);
        q.shift();
      }
    }
    assert.equal(expected, next);
  });

  it('numbers its slots in push order, for reading ahead of the head without taking', () => {
    const q = new TimeQueue<{ n: number }>();
    assert.equal(q.first, 0);
    assert.equal(q.end, 0);
    const n = 40_000; // more than two chunks
    for (let i = 0; i < n; i++) q.push({ n: i }, i);
    assert.equal(q.end, n);
    for (let i = 0; i < 20_000; i++) q.shift();
    assert.equal(q.first, 20_000);
    for (const p of [20_000, 32_767, 32_768, 39_999]) assert.equal(q.entryAt(p)?.n, p);
    q.push({ n }, n);
    assert.equal(q.end, n + 1);
    assert.equal(q.entryAt(n)?.n, n);
    while (q.entry !== undefined) q.shift();
    assert.equal(q.first, n + 1);
    assert.equal(q.end, n + 1);
    q.push({ n: n + 1 }, n + 1);
    assert.equal(q.entryAt(n + 1)?.n, n + 1);
  });

  it('compacts to the slots it is told to keep, in order, and goes on working', () => {
    const q = new TimeQueue<{ n: number }>();
    const n = 40_000;
    for (let i = 0; i < n; i++) q.push({ n: i }, i);
    for (let i = 0; i < 1000; i++) q.shift();
    q.compact((e, at) => e.n % 3 === 0 && at === e.n);
    assert.equal(q.first, 1000);
    const kept = Math.floor((n - 1) / 3) - Math.floor(999 / 3);
    assert.equal(q.length, kept);
    q.push({ n }, n);
    const seen: number[] = [];
    while (q.entry !== undefined) {
      seen.push(q.entry.n);
      assert.equal(q.at, q.entry.n);
      q.shift();
    }
    assert.equal(seen.length, kept + 1);
    assert.ok(
      seen.every((v, i) => i === 0 || v > (seen[i - 1] as number)),
      'in order',
    );
    assert.equal(seen.at(-1), n);
    q.compact(() => false);
    assert.equal(q.length, 0);
    const head = (): { n: number } | undefined => q.entry;
    assert.equal(head(), undefined);
    q.push({ n: 1 }, 1);
    assert.equal(head()?.n, 1);
  });
});
