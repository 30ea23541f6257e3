import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryRateLimitStore } from './memory-store.js';
import type { RateLimitRule } from './window.js';

const fixed: RateLimitRule = { max: 3, windowMs: 1000, algorithm: 'fixed' };
const sliding: RateLimitRule = { max: 10, windowMs: 1000, algorithm: 'sliding' };

describe('memory rate-limit store: fixed window', () => {
  it('lets max requests through per window, then refuses until the window ends, without counting refusals', () => {
    const store = memoryRateLimitStore();
    const t0 = 5_000_123;
    const answers = [0, 10, 20, 30, 40].map((dt) => store.hit('k', fixed, t0 + dt));
    assert.deepEqual(
      answers.map((a) => a.allowed),
      [true, true, true, false, false],
    );
    assert.deepEqual(
      answers.map((a) => a.remaining),
      [2, 1, 0, 0, 0],
    );
    // The window opened at the first request: it ends 1000 ms after it.
    assert.equal(answers[3]!.retryMs, 970);
    assert.equal(answers[0]!.resetMs, 1000);
    assert.equal(store.hit('k', fixed, t0 + 999).allowed, false);
    // A new window: a full quota again (refusals were not counted into it).
    const next = store.hit('k', fixed, t0 + 1000);
    assert.equal(next.allowed, true);
    assert.equal(next.remaining, 2);
  });

  it('counts each key for itself', () => {
    const store = memoryRateLimitStore();
    for (let i = 0; i < 3; i += 1) store.hit('a', fixed, 1000);
    assert.equal(store.hit('a', fixed, 1001).allowed, false);
    assert.equal(store.hit('b', fixed, 1001).allowed, true);
  });
});

describe('memory rate-limit store: sliding window counter', () => {
  it('weights the previous window by how much of it the last window still covers', () => {
    const store = memoryRateLimitStore();
    // Window [10000, 11000): all 10 used near its end.
    for (let i = 0; i < 10; i += 1) assert.equal(store.hit('k', sliding, 10_900 + i).allowed, true);
    assert.equal(store.hit('k', sliding, 10_950).allowed, false);
    // 100 ms into the next window the previous one still weighs 0.9 → 9: one more fits.
    assert.equal(store.hit('k', sliding, 11_100).allowed, true);
    const refused = store.hit('k', sliding, 11_100);
    assert.equal(refused.allowed, false);
    // 10 × (1000 − e)/1000 + 1 + 1 ≤ 10 → e ≥ 200: 100 ms from now.
    assert.equal(refused.retryMs, 100);
    assert.equal(store.hit('k', sliding, 11_199).allowed, false);
    assert.equal(store.hit('k', sliding, 11_200).allowed, true);
    // Half way: 10 × 0.5 + 2 = 7 used, so 3 more.
    const half = [0, 1, 2, 3].map(() => store.hit('k', sliding, 11_500).allowed);
    assert.deepEqual(half, [true, true, true, false]);
  });

  it('never lets a burst of twice max through across a window boundary, as the fixed window does', () => {
    // One request opens the window at 10_000; then 30 requests each ms from 10_990 to 11_019.
    const burst = (rule: RateLimitRule) => {
      const store = memoryRateLimitStore();
      store.hit('k', rule, 10_000);
      let allowed = 0;
      for (let t = 10_990; t < 11_020; t += 1) if (store.hit('k', rule, t).allowed) allowed += 1;
      return allowed;
    };
    assert.equal(burst({ ...sliding, algorithm: 'fixed' }), 19); // 9 before the reset at 11_000, 10 after
    assert.equal(burst(sliding), 9); // ~10 in the last second, however it straddles the boundary
  });

  it('forgets a window two windows old and starts afresh', () => {
    const store = memoryRateLimitStore();
    for (let i = 0; i < 10; i += 1) store.hit('k', sliding, 20_000 + i);
    assert.equal(store.hit('k', sliding, 20_500).allowed, false);
    const later = store.hit('k', sliding, 22_000);
    assert.equal(later.allowed, true);
    assert.equal(later.remaining, 9);
  });

  it('when this window alone is full, says to wait into the next one until enough of it has faded', () => {
    const store = memoryRateLimitStore();
    for (let i = 0; i < 10; i += 1) store.hit('k', sliding, 30_000);
    const refused = store.hit('k', sliding, 30_000);
    // Next window: 10 × (1000 − e)/1000 + 1 ≤ 10 → e ≥ 100, so 1000 + 100 ms from now.
    assert.equal(refused.retryMs, 1100);
    assert.equal(store.hit('k', sliding, 31_099).allowed, false);
    assert.equal(store.hit('k', sliding, 31_100).allowed, true);
  });
});

describe('memory rate-limit store: bounded', () => {
  it('holds at most maxKeys keys under a flood of distinct ones, dropping the soonest to expire', () => {
    const store = memoryRateLimitStore({ maxKeys: 1000 });
    for (let i = 0; i < 50_000; i += 1) store.hit(`addr-${i}`, fixed, 1_000_000 + (i % 500));
    assert.equal(store.size, 1000);
    // The most recent keys are the ones kept.
    for (let i = 49_000; i < 49_010; i += 1) assert.equal(store.hit(`addr-${i}`, fixed, 1_000_600).remaining, 1);
  });

  it('sweeps expired windows as requests come, so an idle flood does not stay', () => {
    const store = memoryRateLimitStore();
    for (let i = 0; i < 10_000; i += 1) store.hit(`addr-${i}`, fixed, 1000);
    assert.equal(store.size, 10_000);
    // Each later request drops a few expired entries from the front.
    for (let i = 0; i < 3000; i += 1) store.hit('live', fixed, 5000 + i);
    assert.equal(store.size, 1);
  });

  it('refuses bad options', () => {
    for (const bad of [{ maxKeys: 0 }, { maxKeys: 1.5 }, { maxKeys: '10' }, { max: 1 }]) {
      assert.throws(() => memoryRateLimitStore(bad as never), { code: 'NOVA_ERR_PLUGIN_INVALID' });
    }
  });
});
