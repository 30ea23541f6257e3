import type { RateLimitHit, RateLimitRule } from './window.js';

export type { RateLimitAlgorithm, RateLimitHit, RateLimitRule } from './window.js';

/**
 * Where a `rateLimit` plugin keeps its counts: `memoryRateLimitStore()` for one process (the
 * default), `redisRateLimitStore()` for several nodes sharing the counts. A store answers in one
 * step, atomically: the check and the count are never two calls another node could get between.
 *
 * @example
 * ```ts
 * const counts = new Map<string, number>();
 * const naive: RateLimitStore = {
 *   hit(key, rule) {
 *     const n = (counts.get(key) ?? 0) + 1; // never reset: an illustration, not a store to use
 *     counts.set(key, n);
 *     return { allowed: n <= rule.max, remaining: Math.max(0, rule.max - n), resetMs: rule.windowMs, retryMs: n <= rule.max ? 0 : rule.windowMs };
 *   },
 * };
 * ```
 */
export interface RateLimitStore {
  /** Connect, once, when the app starts (the plugin's `init`). */
  start?(): Promise<void>;
  /** Let go of connections and timers when the app closes. */
  close?(): Promise<void>;
  /**
   * Count one request for `key` (already namespaced by the limiter's name) unless it is over the
   * rule, and say which. `now` is the caller's clock in ms. A store that cannot answer throws,
   * or answers by its own failure policy.
   */
  hit(key: string, rule: RateLimitRule, now: number): RateLimitHit | Promise<RateLimitHit>;
}
