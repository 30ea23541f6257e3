import { createHash } from 'node:crypto';
import { errors, NovaError, withCause } from '../../errors.js';
import type { RedisClientLike } from '../../session/stores/redis-client-like.js';
import { connectClient, destroyQuietly, reasonFor, safeUrl, withTimeout, type Client } from '../../session/stores/redis-connection.js';
import type { RateLimitStore } from './store.js';
import { fixedHit, slidingHit, type RateLimitHit, type RateLimitRule } from './window.js';

export interface RedisRateLimitStoreOptions {
  /** Default: `process.env.REDIS_URL`, else `redis://127.0.0.1:6379`. Ignored when `client` is given. */
  readonly url?: string;
  /** Bring your own node-redis client. The store connects it if needed and never closes it. */
  readonly client?: RedisClientLike;
  /** Prefix of every key the store writes. Default `nova:rl:`. */
  readonly prefix?: string;
  /** How long `start()` waits for Redis. Default 3000 ms. */
  readonly connectTimeoutMs?: number;
  /** How long one request's count waits for Redis before it counts as an outage. Default 500 ms. */
  readonly commandTimeoutMs?: number;
}

// Fixed window: INCR, and PEXPIRE on the window's first request; a full window is not counted
// further. A key found without a TTL (never written so by this script) gets one: nothing lives for ever.
// Answers {allowed, count, ms left in the window}.
const FIXED = `
local max, w = tonumber(ARGV[1]), tonumber(ARGV[2])
local c = tonumber(redis.call('GET', KEYS[1]) or '0')
local allowed = 0
if c < max then
  c = redis.call('INCR', KEYS[1])
  if c == 1 then redis.call('PEXPIRE', KEYS[1], w) end
  allowed = 1
end
local t = redis.call('PTTL', KEYS[1])
if t < 0 then redis.call('PEXPIRE', KEYS[1], w); t = w end
return {allowed, c, t}
`;

// Sliding window counter (window.ts): a hash s (window start), c (its count), p (the previous
// window's count), expiring when it stops mattering, at the end of the next window. The clock is
// the caller's (ARGV[3]); a node whose clock is behind uses the newest window another node opened.
// Answers {allowed, start, count, previous}.
const SLIDING = `
local max, w, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local start = now - (now % w)
local m = redis.call('HMGET', KEYS[1], 's', 'c', 'p')
local s, c, p = tonumber(m[1]), tonumber(m[2]) or 0, tonumber(m[3]) or 0
if s ~= nil and s > start then start = s end
if s ~= start then
  if s == start - w then p = c else p = 0 end
  c = 0
end
local elapsed = now - start
if elapsed < 0 then elapsed = 0 end
local allowed = 0
if p * (w - elapsed) + (c + 1) * w <= max * w then
  c = c + 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 's', string.format('%d', start), 'c', c, 'p', p)
local ttl = start + 2 * w - now
if ttl < 1 then ttl = 1 end
redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl))
return {allowed, start, c, p}
`;

interface Script {
  readonly source: string;
  readonly sha: string;
}
const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') });
const SCRIPTS = { fixed: script(FIXED), sliding: script(SLIDING) } as const;

/**
 * Counts in Redis, shared by every node of a cluster: each request is one Lua script (one round
 * trip, atomic), keys expire with their window (`PEXPIRE`), so Redis holds only live windows.
 * Works with one Redis (or Sentinel); each key is one slot, so Redis Cluster works too.
 *
 * Redis down at start-up fails `app.start()` with `NOVA_ERR_RATE_LIMIT_STORE_UNAVAILABLE`; an
 * outage later fails the requests' counts, which the plugin's `onStoreError` turns into a pass
 * (the default) or a 503. The client reconnects by itself.
 *
 * @example
 * ```ts
 * const store = redisRateLimitStore({ url: 'redis://10.0.0.5:6379', prefix: 'shop:rl:' });
 * createApp({ plugins: [requestPlugin()], routes: [{ plugins: [rateLimit({ max: 20, window: 60, store })], routes }] });
 * ```
 */
export function redisRateLimitStore(options: RedisRateLimitStoreOptions = {}): RateLimitStore {
  const known = ['url', 'client', 'prefix', 'connectTimeoutMs', 'commandTimeoutMs'];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw errors.pluginInvalid('rate-limit', `unknown redis store option "${key}" (known: ${known.join(', ')})`);
  }
  const url = options.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = options.prefix ?? 'nova:rl:';
  if (typeof prefix !== 'string') throw errors.pluginInvalid('rate-limit', 'redis store "prefix" must be a string');
  const connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs ?? 3000);
  const commandTimeoutMs = positive('commandTimeoutMs', options.commandTimeoutMs ?? 500);
  let client: Client | undefined;
  let starting: Promise<void> | undefined;

  const run = async (s: Script, key: string, args: string[]): Promise<number[]> => {
    const c = client;
    if (c === undefined) throw errors.rateLimitStoreUnavailable('the redis store is not started');
    const tail = ['1', prefix + key, ...args];
    const send = async (): Promise<unknown> => {
      try {
        return await c.sendCommand(['EVALSHA', s.sha, ...tail]);
      } catch (err) {
        if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err;
        return await c.sendCommand(['EVAL', s.source, ...tail]);
      }
    };
    try {
      return ((await withTimeout(send(), commandTimeoutMs)) as unknown[]).map(Number);
    } catch (err) {
      throw withCause(errors.rateLimitStoreUnavailable(reasonFor(err)), err);
    }
  };

  return {
    start() {
      starting ??= (async () => {
        try {
          client = await connectClient(options.client as Client | undefined, url, connectTimeoutMs);
        } catch (err) {
          starting = undefined;
          const reason = err instanceof NovaError ? err.message.replace(/^session store unavailable: /, '') : `could not connect to redis at ${safeUrl(url)}`;
          throw withCause(errors.rateLimitStoreUnavailable(reason), err);
        }
      })();
      return starting;
    },
    async close() {
      const c = client;
      client = undefined;
      starting = undefined;
      if (c === undefined || options.client !== undefined) return;
      try {
        await c.close();
      } catch {
        destroyQuietly(c);
      }
    },
    async hit(key: string, rule: RateLimitRule, now: number): Promise<RateLimitHit> {
      const at = Math.floor(now);
      if (rule.algorithm === 'fixed') {
        const [allowed, count, leftMs] = await run(SCRIPTS.fixed, key, [String(rule.max), String(rule.windowMs)]);
        return fixedHit(count!, at + leftMs!, at, rule, allowed === 1);
      }
      const [allowed, start, count, previous] = await run(SCRIPTS.sliding, key, [String(rule.max), String(rule.windowMs), String(at)]);
      // Another node's clock may be ahead: its window is the newest, so it is "now" at the earliest.
      return slidingHit({ start: start!, count: count!, previous: previous! }, Math.max(at, start!), rule, allowed === 1);
    },
  };
}

function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw errors.pluginInvalid('rate-limit', `redis store "${name}" must be a whole number of milliseconds, at least 1 (got ${String(value)})`);
  }
  return value;
}
