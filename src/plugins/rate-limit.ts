import { createHash } from 'node:crypto';
import type { Logger } from '../config.js';
import type { Context } from '../context.js';
import { errors, NovaError } from '../errors.js';
import type { Plugin } from './plugin.js';
import { addressKey } from './rate-limit/address.js';
import { memoryRateLimitStore } from './rate-limit/memory-store.js';
import type { RateLimitStore } from './rate-limit/store.js';
import type { RateLimitAlgorithm, RateLimitHit, RateLimitRule } from './rate-limit/window.js';

export interface RateLimitOptions {
  /** Requests let through per window, per key. Required; a whole number of at least 1. */
  readonly max: number;
  /** The window, in seconds (as the session timeouts are). Default 60. */
  readonly window?: number;
  /** `'sliding'` (the default: no burst of twice `max` across a window boundary) or `'fixed'`. */
  readonly algorithm?: RateLimitAlgorithm;
  /**
   * What requests are counted together. `'address'` (the default): the client address,
   * `ctx.clientAddress` (with `trustProxy`, the last `X-Forwarded-For` entry), IPv6 by network
   * (`ipv6Prefix`). Or a function of the request, such as the submitted username for a
   * per-account login limit; a request it gives no string for (or an empty one) is not counted.
   * Values longer than 64 characters are hashed, so a key never costs more than a few dozen bytes.
   */
  readonly key?: 'address' | ((ctx: Context) => string | undefined);
  /** IPv6 addresses are counted by their first this-many bits. Default 64; 128 counts each address. */
  readonly ipv6Prefix?: number;
  /** Namespace of this limiter's keys in its store: limiters sharing a store need different names. Default `default`. */
  readonly name?: string;
  /** Where counts live. Default: a `memoryRateLimitStore()` of this limiter's own. */
  readonly store?: RateLimitStore;
  /** Send `RateLimit-Limit`, `-Remaining`, `-Reset` and `RateLimit-Policy` on every counted response. Default true. `Retry-After` goes out with every 429 regardless. */
  readonly headers?: boolean;
  /**
   * When the store cannot answer (Redis down): `'allow'` (the default) lets the request through,
   * with one warning per minute at most; `'refuse'` answers 503 `NOVA_ERR_RATE_LIMIT_STORE_UNAVAILABLE`.
   */
  readonly onStoreError?: 'allow' | 'refuse';
  /** Where those warnings go. Default `console`. */
  readonly logger?: Pick<Logger, 'warn'>;
}

const NAME = 'rate-limit';
const KNOWN_OPTIONS = ['max', 'window', 'algorithm', 'key', 'ipv6Prefix', 'name', 'store', 'headers', 'onStoreError', 'logger'];
const MAX_RAW_KEY = 64;
const WARN_EVERY_MS = 60_000;
/** Stores in use, with the limiter names counting in each: two limiters must not share counts by accident. */
const namesByStore = new WeakMap<RateLimitStore, Set<string>>();

/**
 * Limits how many requests a client (or any key of the request) makes per window; over the limit
 * the request is refused with 429 `NOVA_ERR_RATE_LIMITED`, `Retry-After` and the `RateLimit-*`
 * headers, through the app's 429 status page if it has one, before the route's security function
 * and controller run. Nothing is logged per refused request. Put it in a route group's `plugins`
 * to limit that group. A key function that reads the form (`ctx.params`) needs `requestPlugin()`
 * to run first: put that in the app's `plugins` (they run before a group's) or earlier in the list.
 *
 * @example
 * ```ts
 * // 20 login attempts a minute per address, and 5 per username (see docs/rate-limits.md).
 * const perUser = (ctx: Context) => (typeof ctx.params.username === 'string' ? ctx.params.username.toLowerCase() : undefined);
 * createApp({
 *   plugins: [requestPlugin()],
 *   routes: [{
 *     plugins: [rateLimit({ name: 'login', max: 20, window: 60 }), rateLimit({ name: 'login-user', max: 5, window: 60, key: perUser })],
 *     security: checkPassword,
 *     routes: [['/login', loginPost, { methods: ['post'] }]],
 *   }],
 * });
 * ```
 */
export function rateLimit(options: RateLimitOptions): Plugin {
  const config = validate(options);
  const { rule, store, name, sendHeaders, refuseOnError, logger, keyOf } = config;
  const policy = `${rule.max};w=${rule.windowMs / 1000}`;
  let failures = 0;
  let lastWarning = -Infinity;

  const answer = (ctx: Context, hit: RateLimitHit): void => {
    const retryAfter = Math.max(1, Math.ceil(hit.retryMs / 1000));
    if (sendHeaders) writeHeaders(ctx, hit, rule.max, policy);
    if (hit.allowed) return;
    ctx.setHeader('retry-after', String(retryAfter));
    throw errors.rateLimited(retryAfter);
  };

  // An outage is a storm, not one event per request: one warning per interval, with a count.
  const storeFailed = (err: unknown): void => {
    failures += 1;
    const now = Date.now();
    if (now - lastWarning >= WARN_EVERY_MS) {
      const reason = err instanceof Error ? err.message : String(err);
      const what = refuseOnError ? 'refused with 503' : 'let through unlimited';
      logger.warn(`rate limit "${name}": the store cannot answer (${reason}); ${failures} request(s) ${what} since the last warning`);
      lastWarning = now;
      failures = 0;
    }
    if (refuseOnError)
      throw err instanceof NovaError && err.code === errors.rateLimitStoreUnavailable.code ? err : errors.rateLimitStoreUnavailable(String(err));
  };

  return {
    name: NAME,
    init: () => store.start?.(),
    stop: () => store.close?.(),
    preRequest(ctx) {
      const key = keyOf(ctx);
      if (key === undefined) return undefined;
      let hit: RateLimitHit | Promise<RateLimitHit>;
      try {
        hit = store.hit(`${name}:${key}`, rule, Date.now());
      } catch (err) {
        storeFailed(err);
        return undefined;
      }
      // The memory store answers synchronously: no promise on the hot path.
      if (!(hit instanceof Promise)) return answer(ctx, hit);
      return hit.then((h) => answer(ctx, h), storeFailed);
    },
  };
}

/**
 * The headers of draft-ietf-httpapi-ratelimit-headers as `@fastify/rate-limit` and
 * `express-rate-limit` send them: separate `RateLimit-Limit`/`-Remaining`/`-Reset` (seconds) and
 * `RateLimit-Policy: max;w=seconds`. With two limiters on a route, the one with fewer requests
 * left speaks.
 */
function writeHeaders(ctx: Context, hit: RateLimitHit, max: number, policy: string): void {
  const earlier = ctx.res.getHeader('ratelimit-remaining');
  if (hit.allowed && earlier !== undefined && Number(earlier) <= hit.remaining) return;
  ctx.setHeader('ratelimit-limit', String(max));
  ctx.setHeader('ratelimit-remaining', String(hit.remaining));
  ctx.setHeader('ratelimit-reset', String(Math.max(1, Math.ceil((hit.allowed ? hit.resetMs : hit.retryMs) / 1000))));
  ctx.setHeader('ratelimit-policy', policy);
}

interface Config {
  readonly rule: RateLimitRule;
  readonly store: RateLimitStore;
  readonly name: string;
  readonly sendHeaders: boolean;
  readonly refuseOnError: boolean;
  readonly logger: Pick<Logger, 'warn'>;
  readonly keyOf: (ctx: Context) => string | undefined;
}

function validate(options: RateLimitOptions): Config {
  if (typeof options !== 'object' || options === null) {
    throw errors.pluginInvalid(NAME, 'options are required: rateLimit({ max: 20, window: 60 })');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.includes(key)) throw errors.pluginInvalid(NAME, `unknown option "${key}" (known: ${KNOWN_OPTIONS.join(', ')})`);
  }
  const { max, window = 60, algorithm = 'sliding', key = 'address', ipv6Prefix = 64, name = 'default', headers = true, onStoreError = 'allow' } = options;
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1) {
    throw errors.pluginInvalid(NAME, `"max" must be a whole number of requests, at least 1 (got ${String(max)}); to turn a limit off, leave the plugin out`);
  }
  if (typeof window !== 'number' || !Number.isFinite(window) || window < 0.001 || window > 31 * 24 * 3600) {
    throw errors.pluginInvalid(NAME, `"window" must be a number of seconds from 0.001 to 31 days (got ${String(window)})`);
  }
  if (algorithm !== 'fixed' && algorithm !== 'sliding') {
    throw errors.pluginInvalid(NAME, `"algorithm" must be "fixed" or "sliding" (got ${JSON.stringify(algorithm)})`);
  }
  if (key !== 'address' && typeof key !== 'function') {
    throw errors.pluginInvalid(NAME, '"key" must be "address" or a function (ctx) => string | undefined');
  }
  if (!Number.isSafeInteger(ipv6Prefix) || ipv6Prefix < 1 || ipv6Prefix > 128) {
    throw errors.pluginInvalid(NAME, `"ipv6Prefix" must be a whole number of bits from 1 to 128 (got ${String(ipv6Prefix)})`);
  }
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
    throw errors.pluginInvalid(NAME, `"name" must be 1 to 64 letters, digits, "_", "." or "-" (got ${JSON.stringify(name)})`);
  }
  if (typeof headers !== 'boolean') throw errors.pluginInvalid(NAME, '"headers" must be a boolean');
  if (onStoreError !== 'allow' && onStoreError !== 'refuse') {
    throw errors.pluginInvalid(NAME, `"onStoreError" must be "allow" or "refuse" (got ${JSON.stringify(onStoreError)})`);
  }
  const logger = options.logger ?? console;
  if (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function') {
    throw errors.pluginInvalid(NAME, '"logger" must have a warn() method');
  }
  const store = options.store ?? memoryRateLimitStore();
  if (typeof store !== 'object' || store === null || typeof store.hit !== 'function') {
    throw errors.pluginInvalid(NAME, '"store" must be a rate-limit store, such as memoryRateLimitStore() or redisRateLimitStore()');
  }
  const names = namesByStore.get(store) ?? new Set<string>();
  if (names.has(name)) {
    throw errors.pluginInvalid(NAME, `two limiters named "${name}" share one store and would share their counts; give each its own "name"`);
  }
  names.add(name);
  namesByStore.set(store, names);

  // Bounded: with a misconfigured trustProxy even an "address" is whatever the client wrote.
  const bounded = (tag: string, value: string) =>
    value.length > MAX_RAW_KEY ? `${tag}#${createHash('sha256').update(value).digest('base64url')}` : `${tag}:${value}`;
  const keyOf =
    key === 'address'
      ? (ctx: Context) => {
          const address = ctx.clientAddress;
          return address === undefined || address === '' ? undefined : bounded('a', addressKey(address, ipv6Prefix));
        }
      : (ctx: Context) => {
          const value = key(ctx);
          return typeof value !== 'string' || value === '' ? undefined : bounded('v', value);
        };
  return {
    rule: { max, windowMs: Math.max(1, Math.round(window * 1000)), algorithm },
    store,
    name,
    sendHeaders: headers,
    refuseOnError: onStoreError === 'refuse',
    logger,
    keyOf,
  };
}
