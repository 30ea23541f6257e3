import { errors } from '../../errors.js';
import type { RateLimitStore } from './store.js';
import { fixedHit, slidingFits, slidingHit, slidingRoll, type RateLimitHit, type RateLimitRule } from './window.js';

export interface MemoryRateLimitStoreOptions {
  /**
   * Most keys (client addresses, usernames …) counted at once. Default 50,000: about 14 MB at
   * worst (some 280 heap bytes a key, IPv6 keys included). When full, the key whose window ends soonest is forgotten, so a flood of distinct
   * addresses costs a bounded amount of memory (and at worst gives some forgotten key a fresh
   * window), never an ever-growing map.
   */
  readonly maxKeys?: number;
}

/** The memory store, with what its tests and metrics want to see. */
export interface MemoryRateLimitStore extends RateLimitStore {
  /** Keys counted now (expired ones may linger until a request or the cap sweeps them). */
  readonly size: number;
  hit(key: string, rule: RateLimitRule, now: number): RateLimitHit;
}

interface Entry {
  start: number;
  count: number;
  previous: number;
  /** When the entry stops mattering: the end of a fixed window, the end of the next sliding one. */
  expiresAt: number;
}

const DEFAULT_MAX_KEYS = 50_000;
/** Expired entries dropped from the front per request: a constant, so each request is O(1). */
const SWEEP_PER_HIT = 4;

/**
 * Counts in this process's memory: the default store of `rateLimit()`, right for one node (each
 * node of a cluster counts for itself; use `redisRateLimitStore` to share). Every request is O(1):
 * a `Map` kept in the order windows started, so the entries at its front are the first to expire
 * and a few are swept per request, and at `maxKeys` the front one is dropped.
 *
 * @example
 * ```ts
 * const login = rateLimit({ max: 20, window: 60, store: memoryRateLimitStore({ maxKeys: 50_000 }) });
 * ```
 */
export function memoryRateLimitStore(options: MemoryRateLimitStoreOptions = {}): MemoryRateLimitStore {
  for (const key of Object.keys(options)) {
    if (key !== 'maxKeys') throw errors.pluginInvalid('rate-limit', `unknown memory store option "${key}" (known: maxKeys)`);
  }
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
    throw errors.pluginInvalid('rate-limit', `memory store "maxKeys" must be a whole number of at least 1 (got ${String(maxKeys)})`);
  }
  const entries = new Map<string, Entry>();

  /** Put (or move) `key` at the back: its window just started, so it expires after all others. */
  const renew = (key: string, entry: Entry): void => {
    entries.delete(key);
    if (entries.size >= maxKeys) {
      const oldest = entries.keys().next();
      if (!oldest.done) entries.delete(oldest.value);
    }
    entries.set(key, entry);
  };

  const sweep = (now: number): void => {
    for (let i = 0; i < SWEEP_PER_HIT; i += 1) {
      const first = entries.entries().next();
      if (first.done || first.value[1].expiresAt > now) return;
      entries.delete(first.value[0]);
    }
  };

  return {
    get size() {
      return entries.size;
    },
    hit(key, rule, now) {
      sweep(now);
      let entry = entries.get(key);
      if (rule.algorithm === 'fixed') {
        if (entry === undefined || now >= entry.start + rule.windowMs) {
          entry = { start: now, count: 0, previous: 0, expiresAt: now + rule.windowMs };
          renew(key, entry);
        }
        const allowed = entry.count < rule.max;
        if (allowed) entry.count += 1;
        return fixedHit(entry.count, entry.start + rule.windowMs, now, rule, allowed);
      }
      const rolled = slidingRoll(entry, now, rule.windowMs);
      if (entry === undefined || rolled.start !== entry.start) {
        // The previous window still counts until the end of this one.
        entry = { start: rolled.start, count: rolled.count, previous: rolled.previous, expiresAt: rolled.start + 2 * rule.windowMs };
        renew(key, entry);
      }
      const allowed = slidingFits(entry, now, rule);
      if (allowed) entry.count += 1;
      return slidingHit(entry, now, rule, allowed);
    },
  };
}
