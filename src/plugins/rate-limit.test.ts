// The rateLimit plugin in a real app over real sockets: the 429 path, headers, keys, route groups,
// option validation and what happens when the store fails. The window arithmetic is in
// rate-limit/memory-store.test.ts; Redis in rate-limit/redis-store.test.ts.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { createApp, type App } from '../app.js';
import type { NovaConfigInput } from '../config.js';
import type { Context } from '../context.js';
import { json } from '../results/result.js';
import type { Plugin } from './plugin.js';
import { rateLimit, type RateLimitOptions } from './rate-limit.js';
import { memoryRateLimitStore } from './rate-limit/memory-store.js';
import type { RateLimitStore } from './rate-limit/store.js';
import { requestPlugin } from './request.js';

interface Running {
  readonly url: string;
  readonly logged: unknown[][];
  readonly app: App;
}

const apps: App[] = [];
after(() => Promise.all(apps.map((app) => app.close())));

async function serve(plugins: Plugin[], config: Partial<NovaConfigInput> = {}): Promise<Running> {
  const logged: unknown[][] = [];
  const logger = { info: () => {}, warn: (...a: unknown[]) => logged.push(a), error: (...a: unknown[]) => logged.push(a) };
  const app = createApp({
    logger,
    useSessions: false,
    plugins: [requestPlugin()],
    routes: [
      {
        prefix: '/limited',
        plugins,
        routes: [['/', (ctx: Context) => json({ ok: true, user: ctx.params.username ?? null }, { status: 200 }), { methods: ['get', 'post'] }]],
      },
      { prefix: '/open', routes: [['/', () => json({ ok: true }), { methods: ['get'] }]] },
    ],
    ...config,
    port: 0,
    host: '127.0.0.1',
  });
  apps.push(app);
  const server = await app.listen();
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, logged, app };
}

const get = (r: Running, path = '/limited/', headers: Record<string, string> = {}) => fetch(`${r.url}${path}`, { headers });
const post = (r: Running, form: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(`${r.url}/limited/`, { method: 'POST', body: new URLSearchParams(form), headers });

async function statuses(count: number, send: () => Promise<Response>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const res = await send();
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
}

describe('rateLimit: over the limit', () => {
  it('answers 429 NOVA_ERR_RATE_LIMITED with Retry-After and the RateLimit headers, logging nothing', async () => {
    const r = await serve([rateLimit({ max: 3, window: 60 })]);
    const first = await get(r);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('ratelimit-limit'), '3');
    assert.equal(first.headers.get('ratelimit-remaining'), '2');
    assert.equal(first.headers.get('ratelimit-policy'), '3;w=60');
    const reset = Number(first.headers.get('ratelimit-reset'));
    assert.ok(reset >= 1 && reset <= 60, `RateLimit-Reset ${reset}`);
    assert.deepEqual(await statuses(2, () => get(r)), [200, 200]);

    const refused = await get(r, '/limited/', { accept: 'application/json' });
    assert.equal(refused.status, 429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 120, `Retry-After ${retryAfter}`);
    assert.equal(refused.headers.get('ratelimit-remaining'), '0');
    assert.equal(refused.headers.get('ratelimit-limit'), '3');
    assert.match(await refused.text(), /too many requests/i);
    assert.deepEqual(await statuses(20, () => get(r)), Array(20).fill(429));
    assert.deepEqual(r.logged, [], 'a flood of refusals logs nothing');
  });

  it("renders the app's 429 status page when it has one", async () => {
    const logged: unknown[][] = [];
    const app = createApp({
      logger: { info: () => {}, warn: (...a: unknown[]) => logged.push(a), error: (...a: unknown[]) => logged.push(a) },
      useSessions: false,
      routes: [
        {
          plugins: [rateLimit({ max: 1 })],
          routes: [
            ['/x', () => json({ ok: true })],
            [429, () => json({ slow: 'down' })],
          ],
        },
      ],
      port: 0,
      host: '127.0.0.1',
    });
    apps.push(app);
    const url = `http://127.0.0.1:${((await app.listen()).address() as AddressInfo).port}/x`;
    assert.equal((await fetch(url)).status, 200);
    const refused = await fetch(url);
    assert.equal(refused.status, 429);
    assert.deepEqual(await refused.json(), { slow: 'down' });
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  });

  it('lets requests through again once the window has passed', async () => {
    const r = await serve([rateLimit({ max: 2, window: 0.4, algorithm: 'fixed' })]);
    assert.deepEqual(await statuses(3, () => get(r)), [200, 200, 429]);
    await new Promise((resolve) => setTimeout(resolve, 450));
    assert.deepEqual(await statuses(3, () => get(r)), [200, 200, 429]);
  });

  it('limits only its own route group', async () => {
    const r = await serve([rateLimit({ max: 1 })]);
    assert.deepEqual(await statuses(2, () => get(r)), [200, 429]);
    const open = await get(r, '/open/');
    assert.equal(open.status, 200);
    assert.equal(open.headers.get('ratelimit-limit'), null);
  });

  it('sends no RateLimit headers with headers: false, but Retry-After with a 429', async () => {
    const r = await serve([rateLimit({ max: 1, headers: false })]);
    const ok = await get(r);
    assert.equal(ok.headers.get('ratelimit-remaining'), null);
    const refused = await get(r);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('ratelimit-remaining'), null);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  });
});

describe('rateLimit: keys', () => {
  it('under trustProxy counts the last X-Forwarded-For entry, which the client cannot choose', async () => {
    const r = await serve([rateLimit({ max: 2 })], { trustProxy: true });
    // The client writes its own first entries; the proxy appends what it saw (the last one).
    const from = (client: string, spoof: string) => () => get(r, '/limited/', { 'x-forwarded-for': `${spoof}, ${client}` });
    assert.deepEqual(await statuses(2, from('203.0.113.7', '1.1.1.1')), [200, 200]);
    assert.equal((await from('203.0.113.7', '2.2.2.2')()).status, 429, 'a fresh first entry does not buy a fresh quota');
    assert.equal((await from('198.51.100.9', '1.1.1.1')()).status, 200, 'another address has its own quota');
    // One IPv6 /64 is one client.
    assert.deepEqual(
      await statuses(3, () => get(r, '/limited/', { 'x-forwarded-for': `2001:db8:7:7::${Math.floor(Math.random() * 9000 + 1000)}` })),
      [200, 200, 429],
    );
  });

  it('without trustProxy ignores X-Forwarded-For and counts the socket address', async () => {
    const r = await serve([rateLimit({ max: 2 })]);
    const spoofed = (n: number) => () => get(r, '/limited/', { 'x-forwarded-for': `10.0.0.${n}` });
    assert.deepEqual([...(await statuses(1, spoofed(1))), ...(await statuses(1, spoofed(2))), ...(await statuses(1, spoofed(3)))], [200, 200, 429]);
  });

  it('counts by a value of the request, such as the submitted username, after the body parser', async () => {
    const byUser = (ctx: Context) => (typeof ctx.params.username === 'string' ? ctx.params.username.toLowerCase() : undefined);
    const r = await serve([rateLimit({ name: 'by-user', max: 2, key: byUser })]);
    assert.deepEqual(await statuses(2, () => post(r, { username: 'ada' })), [200, 200]);
    assert.equal((await post(r, { username: 'ADA' })).status, 429, 'the same user, however spelled');
    assert.equal((await post(r, { username: 'bob' })).status, 200, 'another user from the same address is not limited');
    // A request the key function gives nothing for is not counted by this limiter.
    assert.deepEqual(await statuses(5, () => post(r, { other: 'x' })), [200, 200, 200, 200, 200]);
    // A long value is hashed: it still counts, and costs no more than a short one.
    const long = 'x'.repeat(60_000);
    assert.deepEqual(await statuses(3, () => post(r, { username: long })), [200, 200, 429]);
  });

  it('with a per-address and a per-user limiter, the tighter one speaks in the headers', async () => {
    const byUser = (ctx: Context) => (typeof ctx.params.username === 'string' ? ctx.params.username : undefined);
    const r = await serve([rateLimit({ name: 'addr', max: 10 }), rateLimit({ name: 'user', max: 2, key: byUser })]);
    const res = await post(r, { username: 'ada' });
    assert.equal(res.headers.get('ratelimit-limit'), '2');
    assert.equal(res.headers.get('ratelimit-remaining'), '1');
  });
});

describe('rateLimit: options', () => {
  const bad: [string, unknown][] = [
    ['no options', undefined],
    ['no max', {}],
    ['max 0', { max: 0 }],
    ['fractional max', { max: 1.5 }],
    ['max as text', { max: '20' }],
    ['negative window', { max: 1, window: -1 }],
    ['zero window', { max: 1, window: 0 }],
    ['window as text', { max: 1, window: '60' }],
    ['unknown algorithm', { max: 1, algorithm: 'leaky' }],
    ['bad key', { max: 1, key: 'username' }],
    ['bad name', { max: 1, name: 'a b' }],
    ['ipv6Prefix 0', { max: 1, ipv6Prefix: 0 }],
    ['bad onStoreError', { max: 1, onStoreError: 'ignore' }],
    ['bad store', { max: 1, store: {} }],
    ['headers as text', { max: 1, headers: 'yes' }],
    ['unknown option', { max: 1, windowMs: 1000 }],
  ];
  for (const [what, options] of bad) {
    it(`refuses ${what} at creation with NOVA_ERR_PLUGIN_INVALID`, () => {
      assert.throws(
        () => rateLimit(options as RateLimitOptions),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'NOVA_ERR_PLUGIN_INVALID');
          assert.match(err.message, /plugin "rate-limit": /);
          return true;
        },
      );
    });
  }

  it('refuses two limiters of the same name on one store, which would share their counts', () => {
    const store = memoryRateLimitStore();
    rateLimit({ max: 1, store, name: 'login' });
    assert.throws(() => rateLimit({ max: 1, store, name: 'login' }), /share their counts/);
    rateLimit({ max: 1, store, name: 'login-user' });
  });
});

describe('rateLimit: when the store fails', () => {
  const broken = (): RateLimitStore & { calls: number } => {
    const store = {
      calls: 0,
      hit(): never {
        store.calls += 1;
        throw new Error('connection refused');
      },
    };
    return store;
  };
  const asyncBroken: RateLimitStore = { hit: () => Promise.reject(new Error('timed out')) };

  it('lets requests through by default, warning once per interval rather than per request', async () => {
    const warnings: unknown[][] = [];
    const store = broken();
    const r = await serve([rateLimit({ max: 1, store, logger: { warn: (...a: unknown[]) => warnings.push(a) } })]);
    assert.deepEqual(await statuses(10, () => get(r)), Array(10).fill(200));
    assert.equal(store.calls, 10);
    assert.equal(warnings.length, 1);
    assert.match(String(warnings[0]![0]), /rate limit "default": the store cannot answer \(connection refused\)/);
    assert.deepEqual(r.logged, []);
  });

  it("answers 503 with onStoreError: 'refuse', logging no error per request", async () => {
    const warnings: unknown[][] = [];
    const r = await serve([rateLimit({ max: 1, store: asyncBroken, onStoreError: 'refuse', logger: { warn: (...a: unknown[]) => warnings.push(a) } })]);
    const res = await get(r, '/limited/', { accept: 'application/json' });
    assert.equal(res.status, 503);
    assert.match(await res.text(), /Service unavailable/);
    assert.deepEqual(await statuses(5, () => get(r)), Array(5).fill(503));
    assert.equal(warnings.length, 1);
    assert.deepEqual(r.logged, [], 'the pipeline does not log each refusal');
  });
});
