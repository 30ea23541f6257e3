/**
 * The arithmetic of the two rate-limit windows, shared by the memory store (which runs it) and the
 * Redis store (whose Lua script makes the same decision and hands the counts back here for the
 * times). All times are milliseconds.
 *
 * - `fixed`: a window opens at a key's first request and lasts `windowMs`; at most `max`
 *   requests are let through in it.
 * - `sliding`: the sliding-window counter (Cloudflare's, and `@fastify/rate-limit`'s idea of it):
 *   windows are aligned to multiples of `windowMs`, each key keeps the count of the current and of
 *   the previous window, and the previous one is weighted by how much of it the last `windowMs`
 *   still covers. A request is let through when that estimate, plus itself, stays within `max`.
 *   Two numbers per key instead of a log of timestamps, and no burst of `2 × max` at a window
 *   boundary as the fixed window allows.
 *
 * A refused request is not counted: the counts say what reached the application.
 */

export type RateLimitAlgorithm = 'fixed' | 'sliding';

/** What a limiter asks of a store: how many requests per how long, counted how. */
export interface RateLimitRule {
  readonly max: number;
  readonly windowMs: number;
  readonly algorithm: RateLimitAlgorithm;
}

/** A store's answer for one request. */
export interface RateLimitHit {
  readonly allowed: boolean;
  /** Requests still allowed now (after this one, when it was allowed). */
  readonly remaining: number;
  /** Until the current window ends. */
  readonly resetMs: number;
  /** When refused: until a request would be let through again. 0 when allowed. */
  readonly retryMs: number;
}

/** A key's counts under the sliding window: the window it started at, its count, the previous window's. */
export interface SlidingCounts {
  readonly start: number;
  readonly count: number;
  readonly previous: number;
}

/**
 * Whether one more request fits: `previous × (windowMs − elapsed) / windowMs + count + 1 ≤ max`,
 * multiplied through by `windowMs` so it is exact in integers (the Lua script does the same).
 */
export function slidingFits(counts: SlidingCounts, now: number, rule: RateLimitRule): boolean {
  const elapsed = now - counts.start;
  return counts.previous * (rule.windowMs - elapsed) + (counts.count + 1) * rule.windowMs <= rule.max * rule.windowMs;
}

/** The answer for a sliding-window request, from the counts after it was counted (or refused). */
export function slidingHit(counts: SlidingCounts, now: number, rule: RateLimitRule, allowed: boolean): RateLimitHit {
  const { max, windowMs } = rule;
  const elapsed = now - counts.start;
  const used = (counts.previous * (windowMs - elapsed)) / windowMs + counts.count;
  const resetMs = windowMs - elapsed;
  if (allowed) return { allowed, remaining: Math.max(0, Math.floor(max - used)), resetMs, retryMs: 0 };
  let retryMs: number;
  if (counts.count + 1 <= max && counts.previous > 0) {
    // Later in this window the previous one weighs less: wait until it weighs little enough.
    retryMs = windowMs - elapsed - ((max - counts.count - 1) * windowMs) / counts.previous;
  } else {
    // This window alone is full: in the next one it is the previous window, fading until one fits.
    retryMs = resetMs + windowMs - ((max - 1) * windowMs) / Math.max(1, counts.count);
  }
  return { allowed, remaining: 0, resetMs, retryMs: Math.max(1, Math.ceil(retryMs)) };
}

/** The sliding counts of `counts` moved to the window that holds `now`. */
export function slidingRoll(counts: SlidingCounts | undefined, now: number, windowMs: number): SlidingCounts {
  const start = now - (now % windowMs);
  if (counts === undefined) return { start, count: 0, previous: 0 };
  if (counts.start === start) return counts;
  return { start, count: 0, previous: counts.start === start - windowMs ? counts.count : 0 };
}

/** The answer for a fixed-window request: `count` after it, the window's end at `endsAt`. */
export function fixedHit(count: number, endsAt: number, now: number, rule: RateLimitRule, allowed: boolean): RateLimitHit {
  const resetMs = Math.max(1, endsAt - now);
  return allowed ? { allowed, remaining: Math.max(0, rule.max - count), resetMs, retryMs: 0 } : { allowed, remaining: 0, resetMs, retryMs: resetMs };
}
