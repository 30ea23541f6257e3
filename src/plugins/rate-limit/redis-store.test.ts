/**
 * The Redis rate-limit store against the real Redis at REDIS_URL (default redis://127.0.0.1:6379),
 * under a prefix no other test uses; and, on a redis-server of its own, what a limiter does when
 * Redis goes away and comes back. Fails under CI without Redis, skipped elsewhere.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { createApp, type App } from '../../app.js';
import { json } from '../../results/result.js';
import { whenRedis } from '../../../test/helpers/redis-gate.js';
import { rateLimit } from '../rate-limit.js';
import { memoryRateLimitStore } from './memory-store.js';
import { redisRateLimitStore } from './redis-store.js';
import type { RateLimitRule } from './window.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `nova-test:rl:${randomUUID()}:`;

await whenRedis(url, registerTests);

function registerTests(): void {
  const raw = createClient({ url });
  raw.on('error', () => {});
  const stores = [redisRateLimitStore({ url, prefix }), redisRateLimitStore({ url, prefix })];
  before(async () => {
    await raw.connect();
    for (const s of stores) await s.start!();
  });
  after(async () => {
    for (const s of stores) await s.close!();
    for await (const keys of raw.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length > 0) await raw.del(keys);
    await raw.close();
  });

  describe('redis rate-limit store', () => {
    it('fixed window: shares the count between nodes, refuses over max, and the key expires with the window', async () => {
      const rule: RateLimitRule = { max: 3, windowMs: 5000, algorithm: 'fixed' };
      const [a, b] = stores as [ReturnType<typeof redisRateLimitStore>, ReturnType<typeof redisRateLimitStore>];
      const now = Date.now();
      const answers = [await a.hit('f:1', rule, now), await b.hit('f:1', rule, now), await a.hit('f:1', rule, now), await b.hit('f:1', rule, now)];
      assert.deepEqual(
        answers.map((x) => x.allowed),
        [true, true, true, false],
      );
      assert.deepEqual(
        answers.map((x) => x.remaining),
        [2, 1, 0, 0],
      );
      assert.ok(answers[3]!.retryMs > 4000 && answers[3]!.retryMs <= 5000, `retry in ${answers[3]!.retryMs} ms`);
      assert.equal(await raw.get(`${prefix}f:1`), '3', 'the refusal was not counted');
      const ttl = await raw.pTTL(`${prefix}f:1`);
      assert.ok(ttl > 4000 && ttl <= 5000, `PTTL ${ttl}`);
      assert.equal((await a.hit('f:2', rule, now)).allowed, true, 'another key has its own count');
    });

    it('fixed window: a new window once the old one has expired', async () => {
      const rule: RateLimitRule = { max: 1, windowMs: 300, algorithm: 'fixed' };
      assert.equal((await stores[0]!.hit('f:short', rule, Date.now())).allowed, true);
      assert.equal((await stores[0]!.hit('f:short', rule, Date.now())).allowed, false);
      await new Promise((resolve) => setTimeout(resolve, 350));
      assert.equal((await stores[1]!.hit('f:short', rule, Date.now())).allowed, true);
    });

    it('sliding window: decides exactly as the memory store does, on any sequence of requests', async () => {
      const rule: RateLimitRule = { max: 7, windowMs: 1000, algorithm: 'sliding' };
      const memory = memoryRateLimitStore();
      let t = 1_700_000_000_000;
      for (let i = 0; i < 300; i += 1) {
        t += Math.floor(Math.random() * 120);
        const expected = memory.hit('s', rule, t);
        const got = await stores[i % 2]!.hit('s:seq', rule, t);
        assert.deepEqual(got, expected, `request ${i} at ${t}`);
      }
      const ttl = await raw.pTTL(`${prefix}s:seq`);
      assert.ok(ttl > 0 && ttl <= 2000, `the window's key expires (PTTL ${ttl})`);
    });

    it('writes only under its prefix', async () => {
      const other = `nova-test:rl:${randomUUID()}:`;
      const store = redisRateLimitStore({ url, prefix: other });
      await store.start!();
      try {
        await store.hit('login:a:192.0.2.1', { max: 1, windowMs: 1000, algorithm: 'fixed' }, Date.now());
        assert.deepEqual(await raw.keys(`${other}*`), [`${other}login:a:192.0.2.1`]);
      } finally {
        await raw.del(`${other}login:a:192.0.2.1`);
        await store.close!();
      }
    });
  });

  const hasServer = spawnSync('redis-server', ['--version']).status === 0;
  describe('rate limit on a Redis that goes away', { skip: hasServer || process.env.CI === 'true' ? false : 'redis-server is not installed' }, () => {
    it('fails app start-up clearly when Redis is not there', async () => {
      const port = await freePort();
      const app = createApp({
        useSessions: false,
        routes: [
          {
            plugins: [rateLimit({ max: 1, store: redisRateLimitStore({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 500 }) })],
            routes: [['/x', () => json({})]],
          },
        ],
      });
      await assert.rejects(app.start(), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'NOVA_ERR_RATE_LIMIT_STORE_UNAVAILABLE');
        assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
        return true;
      });
      await app.close();
    });

    it("lets requests through while Redis is down (one warning), refuses with 503 under 'refuse', and counts again once it is back", async () => {
      const port = await freePort();
      let server: ChildProcess | undefined;
      const startRedis = async () => {
        server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
        await waitForPort(port);
      };
      const stopRedis = async () => {
        const exited = new Promise((resolve) => server!.once('exit', resolve));
        server!.kill('SIGKILL');
        await exited;
      };
      await startRedis();
      const warnings: unknown[][] = [];
      const logged: unknown[][] = [];
      const logger = { warn: (...a: unknown[]) => warnings.push(a) };
      const store = redisRateLimitStore({ url: `redis://127.0.0.1:${port}`, prefix, commandTimeoutMs: 300 });
      let app: App | undefined;
      try {
        app = createApp({
          useSessions: false,
          logger: { info: () => {}, warn: (...a: unknown[]) => logged.push(a), error: (...a: unknown[]) => logged.push(a) },
          routes: [
            { prefix: '/open', plugins: [rateLimit({ name: 'open', max: 2, store, logger })], routes: [['/', () => json({ ok: true })]] },
            {
              prefix: '/closed',
              plugins: [rateLimit({ name: 'closed', max: 100, store, logger, onStoreError: 'refuse' })],
              routes: [['/', () => json({ ok: true })]],
            },
          ],
          port: 0,
          host: '127.0.0.1',
        });
        const base = `http://127.0.0.1:${((await app.listen()).address() as AddressInfo).port}`;
        const statuses = async (path: string, n: number) => {
          const out: number[] = [];
          for (let i = 0; i < n; i += 1) out.push((await fetch(`${base}${path}`)).status);
          return out;
        };
        assert.deepEqual(await statuses('/open/', 3), [200, 200, 429]);
        assert.deepEqual(await statuses('/closed/', 1), [200]);

        await stopRedis();
        assert.deepEqual(await statuses('/open/', 10), Array(10).fill(200), 'fail open: the login page stays usable');
        assert.deepEqual(await statuses('/closed/', 3), [503, 503, 503], 'fail closed where asked');
        assert.equal(warnings.filter((w) => /rate limit "open"/.test(String(w[0]))).length, 1, 'one warning, not one per request');
        assert.deepEqual(logged, [], 'no error line per request');

        await startRedis();
        // The client reconnects by itself; the count starts afresh (a new, empty Redis).
        const until = Date.now() + 15_000;
        let back: number[] = [];
        while (Date.now() < until) {
          back = await statuses('/closed/', 1);
          if (back[0] === 200) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.deepEqual(back, [200], 'the store is back without a restart');
        assert.deepEqual(await statuses('/open/', 3), [200, 200, 429], 'and limits again');
      } finally {
        await app?.close();
        if (server && server.exitCode === null && server.signalCode === null) await stopRedis();
      }
    });
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number): Promise<void> {
  const until = Date.now() + 10_000;
  for (;;) {
    const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false, connectTimeout: 500 } });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.close();
      return;
    } catch {
      if (client.isOpen) client.destroy();
      if (Date.now() > until) throw new Error(`redis-server did not start on port ${port}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
