// Stores and replication given as URLs in the framework's configuration, against the real
// services on loopback: a login made through one app is read through another app configured with
// the same URL; the clients the framework made are closed when the apps stop; an unreachable
// service fails the start within seconds. The configuration checks are in src/session/store-spec.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApp, json, NovaError, session, type App, type Context, type NovaConfigInput } from 'nova-ts';
import { agent } from 'nova-ts/testing';
import { skipUnlessReachable } from '../helpers/service.js';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const SECRET = 'stores-by-url-test-secret-0123456789-abcdefghij';
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const POSTGRES = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const NATS = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

const routes = [
  {
    security: false as const,
    routes: [
      ['/login', async (ctx: Context) => (await session.set(ctx, 'user' as never, 'ada' as never), json({ ok: true })), { methods: ['post'] }],
      ['/me', async (ctx: Context) => json({ user: (await session.get(ctx, 'user' as never)) ?? null }), { methods: ['get'] }],
      ['/logout', async (ctx: Context) => (await session.delete(ctx), json({ ok: true })), { methods: ['post'] }],
    ] as never,
  },
];

function appWith(sessionConfig: NonNullable<NovaConfigInput['session']>): App {
  return createApp({ routes, logger: quiet, session: { secrets: [SECRET], ...sessionConfig } });
}

/** TCP handles this process holds: the clients a store or transport opened. */
function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;
}

async function settlesTo(count: number): Promise<number> {
  for (let i = 0; i < 50 && tcpHandles() !== count; i++) await sleep(20);
  return tcpHandles();
}

/** The count once sockets being closed (the reachability probe's) are gone: unchanged for 100 ms. */
async function steadyHandles(): Promise<number> {
  let last = tcpHandles();
  for (let same = 0, i = 0; same < 5 && i < 100; i++) {
    await sleep(20);
    const now = tcpHandles();
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
}

/** Log in through `a`; `b` must see the login, and then the logout made through `b` must reach `a`. */
async function sharesSessions(a: App, b: App): Promise<void> {
  const first = agent(a);
  assert.equal((await first.post('/login')).status, 201);
  const cookie = first.cookies().session_id;
  assert.ok(cookie !== undefined, 'the login set a session cookie');
  const second = agent(b);
  assert.deepEqual((await second.get('/me', { cookies: { session_id: cookie } })).json(), { user: 'ada' }, 'the login made on one app is read on the other');
  assert.equal((await second.post('/logout', { cookies: { session_id: cookie } })).status, 201);
  // A replicated logout is applied on every node before it resolves; a shared store has no copies.
  assert.deepEqual((await first.get('/me')).json(), { user: null }, 'the logout made on the other app ended it here too');
}

async function pair(sessionConfig: NonNullable<NovaConfigInput['session']>, check: (a: App, b: App) => Promise<void>): Promise<void> {
  const before = await steadyHandles();
  const [a, b] = [appWith(sessionConfig), appWith(sessionConfig)];
  try {
    await a.start();
    await b.start();
    assert.ok(tcpHandles() > before, 'the apps opened their own clients');
    await check(a, b);
  } finally {
    await a.close();
    await b.close();
  }
  assert.equal(await settlesTo(before), before, 'app.close() closed every client the framework made');
}

describe('session.store by URL on the real services', () => {
  for (const [what, url, port, service] of [
    ['redis://', REDIS, 6379, 'Redis'],
    ['postgres://', POSTGRES, 5432, 'PostgreSQL'],
  ] as const) {
    it(`${what}: two apps with the same URL share a login and a logout`, async (t) => {
      const skip = await skipUnlessReachable(url, port, service);
      if (skip !== undefined) return t.skip(skip);
      await pair({ store: url }, sharesSessions);
    });
  }
});

describe('session.replication by URL on the real services', () => {
  for (const [what, url, port, service] of [
    ['redis://', REDIS, 6379, 'Redis'],
    ['nats://', NATS, 4222, 'NATS'],
  ] as const) {
    it(`${what}: two apps replicating over the same URL share a login and a logout`, async (t) => {
      const skip = await skipUnlessReachable(url, port, service);
      if (skip !== undefined) return t.skip(skip);
      await pair({ replication: url }, sharesSessions);
    });

    it(`${what}: the options form ({ url, leaseMs, cluster, … }) replicates too, and a cluster name keeps other apps out`, async (t) => {
      const skip = await skipUnlessReachable(url, port, service);
      if (skip !== undefined) return t.skip(skip);
      const cluster = `urls-${process.pid}`;
      await pair({ replication: { url, leaseMs: 1500, joinTimeoutMs: 300, cluster } }, async (a, b) => {
        await sharesSessions(a, b);
        // Same engine and secret, another cluster name: a login made here is not seen there.
        const outsider = appWith({ replication: { url, joinTimeoutMs: 300, cluster: `${cluster}-other` } });
        try {
          const browser = agent(a);
          await browser.post('/login');
          const me = await agent(outsider).get('/me', { cookies: { session_id: browser.cookies().session_id! } });
          assert.deepEqual(me.json(), { user: null });
        } finally {
          await outsider.close();
        }
      });
    });
  }
});

describe('an unreachable store or transport fails the start within seconds', () => {
  const cases: [string, NonNullable<NovaConfigInput['session']>, string][] = [
    ['redis store', { store: 'redis://:hunter2@127.0.0.1:1' }, 'NOVA_ERR_SESSION_STORE_UNAVAILABLE'],
    ['postgres store', { store: 'postgres://u:hunter2@127.0.0.1:1/test' }, 'NOVA_ERR_SESSION_STORE_UNAVAILABLE'],
    ['redis replication', { replication: 'redis://:hunter2@127.0.0.1:1' }, 'NOVA_ERR_PUBSUB_UNAVAILABLE'],
    ['nats replication', { replication: 'nats://127.0.0.1:1' }, 'NOVA_ERR_PUBSUB_UNAVAILABLE'],
  ];
  for (const [what, config, code] of cases) {
    it(what, async () => {
      const app = appWith(config);
      const t0 = Date.now();
      try {
        await assert.rejects(app.listen(0, '127.0.0.1'), (err: unknown) => {
          assert.ok(err instanceof NovaError, String(err));
          assert.equal(err.code, code);
          assert.ok(!err.message.includes('hunter2'), 'no password in the message');
          return true;
        });
        assert.ok(Date.now() - t0 < 8000, 'failed within seconds');
        assert.equal(app.server, undefined, 'never listened');
      } finally {
        await app.close();
      }
    });
  }
});
