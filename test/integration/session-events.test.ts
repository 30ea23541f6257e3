// Session events, flash messages and the per-user calls through a real server, on the memory store.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  csrf,
  flash,
  hashSessionId,
  json,
  memoryStore,
  session,
  status,
  view,
  type Context,
  type RouteGroup,
  type SessionEvent,
  type SessionStore,
} from 'nova-ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionEvents } from '../../src/session/events.js';
import { cookiePair } from '../helpers/cookies.js';
import { serve, type Served } from '../helpers/serve.js';

const SECRET = 'a-test-secret-that-is-long-enough-1234';
const idOf = (cookie: string) => decodeURIComponent(cookie.split('=')[1]!).split('.')[0]!;

const views = mkdtempSync(join(tmpdir(), 'nova-flash-views-'));
writeFileSync(join(views, 'page.html'), '[{% if flash.info %}{{ flash.info }}{% endif %}]');
writeFileSync(join(views, 'plain.html'), 'no flash here');

function routes(): RouteGroup[] {
  return [
    {
      plugins: [],
      routes: [
        [
          '/login/:user',
          async (ctx: Context) => {
            await session.regenerate(ctx);
            await session.set(ctx, 'username', ctx.bindings.user!);
            await session.bindUser(ctx, ctx.bindings.user!);
            return status(204);
          },
        ],
        ['/touch', async (ctx: Context) => (await session.set(ctx, 'seen', true), status(204))],
        ['/logout', async (ctx: Context) => (await session.delete(ctx), status(204))],
        ['/revoke-others', async (ctx: Context) => json({ count: await session.revokeOthers(ctx) })],
        ['/revoke-all', async (ctx: Context) => json({ count: await session.revokeAll(ctx) })],
        ['/list', async (ctx: Context) => json(await session.list(ctx))],
        ['/flash/put/:text', async (ctx: Context) => (await flash.put(ctx, 'info', ctx.bindings.text!), status(204))],
        [
          '/flash/put-and-read/:text',
          async (ctx: Context) => {
            await flash.put(ctx, 'info', ctx.bindings.text!);
            return json({ info: (await flash.get(ctx, 'info')) ?? null, again: (await flash.all(ctx)).info ?? null });
          },
        ],
        ['/flash/read', async (ctx: Context) => json({ info: (await flash.get(ctx, 'info')) ?? null })],
        ['/flash/put-other/:text', async (ctx: Context) => (await flash.put(ctx, 'other', ctx.bindings.text!), status(204))],
        ['/flash/all', async (ctx: Context) => json(await flash.all(ctx))],
        ['/flash/page', () => view({}, { view: 'page' })],
        ['/flash/plain', () => view({}, { view: 'plain' })],
      ],
    },
    { prefix: '/forms', plugins: [csrf()], routes: [['/post', () => status(204), { methods: ['post'] }]] },
  ];
}

/** A memory store that counts the calls made to it. */
function counting(): SessionStore & { calls: Map<string, number> } {
  const inner = memoryStore();
  const calls = new Map<string, number>();
  return new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return name === 'calls' ? calls : value;
      return (...args: unknown[]) => {
        calls.set(String(name), (calls.get(String(name)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as unknown as SessionStore & { calls: Map<string, number> };
}

async function get(served: Served, path: string, cookie?: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${served.url}${path}`, { headers: { ...(cookie ? { cookie } : {}), ...headers }, redirect: 'manual' });
}

describe('session events', () => {
  const apps: Served[] = [];
  after(async () => {
    for (const a of apps) await a.close();
  });

  it('reports created, rotated, logged out, revoked, invalid cookie and CSRF refusals, with hashes and correlation ids, never raw ids', async () => {
    const events: SessionEvent[] = [];
    const { correlationId } = await import('nova-ts');
    const served = await serve({
      routes: routes(),
      plugins: [correlationId()],
      session: { secrets: [SECRET], onEvent: (e) => events.push(e) },
    });
    apps.push(served);
    const anon = await get(served, '/touch');
    const first = cookiePair(anon);
    assert.deepStrictEqual(
      events.map((e) => e.type),
      ['created'],
    );
    assert.equal(events[0]!.sessionHash, hashSessionId(idOf(first)));
    assert.equal(events[0]!.correlationId, anon.headers.get('x-correlation-id') ?? events[0]!.correlationId);
    assert.ok(events[0]!.correlationId, 'the correlation id is carried');

    const login = await get(served, '/login/ada', first);
    const second = cookiePair(login);
    const rotated = events.find((e) => e.type === 'rotated');
    assert.equal(rotated?.previousHash, hashSessionId(idOf(first)));
    assert.equal(rotated?.sessionHash, hashSessionId(idOf(second)));

    const other = cookiePair(await get(served, '/login/ada'));
    assert.equal(((await (await get(served, '/revoke-others', second)).json()) as { count: number }).count, 1);
    const revoked = events.find((e) => e.type === 'revoked');
    assert.deepStrictEqual([revoked?.userId, revoked?.count, revoked?.scope], ['ada', 1, 'others']);
    void other;

    await get(served, '/logout', second);
    const out = events.find((e) => e.type === 'logged-out');
    assert.deepStrictEqual([out?.userId, out?.sessionHash], ['ada', hashSessionId(idOf(second))]);

    const forged = await get(served, '/touch', 'session_id=forged.value');
    await forged.arrayBuffer();
    const invalid = events.find((e) => e.type === 'invalid-cookie');
    assert.ok(invalid?.correlationId, 'an invalid cookie is reported with the correlation id');
    assert.equal(invalid?.sessionHash, undefined);

    const refused = await fetch(`${served.url}/forms/post`, { method: 'POST' });
    assert.equal(refused.status, 403);
    assert.ok(events.some((e) => e.type === 'csrf-refused'));

    const text = JSON.stringify(events);
    for (const c of [first, second, other]) assert.ok(!text.includes(idOf(c)), 'no raw id in any event');
  });

  it('reports a full store and a session the sweeper expired', async () => {
    const events: SessionEvent[] = [];
    const served = await serve({
      routes: routes(),
      session: {
        secrets: [SECRET],
        maxSessions: 1,
        idleTimeout: 0.3,
        touchInterval: 0.1,
        store: memoryStore({ sweepIntervalMs: 20 }),
        onEvent: (e) => events.push(e),
      },
    });
    apps.push(served);
    const cookie = cookiePair(await get(served, '/login/ada'));
    for (let i = 0; i < 20; i++) assert.equal((await get(served, '/touch')).status, 503);
    assert.equal(events.filter((e) => e.type === 'store-full').length, 20);
    assert.deepStrictEqual(served.logged, [], 'a full store is not logged per request');
    await new Promise((resolve) => setTimeout(resolve, 600));
    const expired = events.find((e) => e.type === 'expired');
    assert.deepStrictEqual([expired?.sessionHash, expired?.userId], [hashSessionId(idOf(cookie)), 'ada']);
  });

  it('logs nothing per request for a flood of bad cookies, and one summary line', async () => {
    const served = await serve({ routes: routes(), session: { secrets: [SECRET] } });
    for (let i = 0; i < 300; i++) (await get(served, '/touch', `session_id=forged${i}.x`)).body?.cancel();
    assert.equal(served.logged.length, 0, 'nothing logged while it happens');
    await served.close(); // flushes the summary
    const lines = served.logged.map((l) => String(l[0]));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /300 invalid session cookie\(s\) replaced/);
  });

  it('summarises once per interval however many events arrive', async () => {
    const lines: string[] = [];
    const events = new SessionEvents({ info() {}, warn: (m: string) => lines.push(m), error() {} }, undefined, 50);
    for (let i = 0; i < 1000; i++) events.emit({ type: 'store-full', at: 0, sessionHash: undefined, userId: undefined, correlationId: undefined });
    assert.deepStrictEqual(lines, []);
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /1000 session write\(s\) refused: the store is full/);
  });
});

describe('flash', () => {
  const apps: Served[] = [];
  after(async () => {
    for (const a of apps) await a.close();
  });

  it('is readable in the next request once, and in the same request', async () => {
    const served = await serve({ routes: routes(), views: { dir: views }, session: { secrets: [SECRET] } });
    apps.push(served);
    const cookie = cookiePair(await get(served, '/touch'));
    await get(served, '/flash/put/hello', cookie);
    assert.deepStrictEqual(await (await get(served, '/flash/read', cookie)).json(), { info: 'hello' });
    assert.deepStrictEqual(await (await get(served, '/flash/read', cookie)).json(), { info: null });
    assert.deepStrictEqual(await (await get(served, '/flash/put-and-read/now', cookie)).json(), { info: 'now', again: 'now' });
    assert.deepStrictEqual(await (await get(served, '/flash/read', cookie)).json(), { info: null }, 'read in its own request, it is gone');
  });

  it('keeps unread messages from earlier requests when a later one puts another', async () => {
    const served = await serve({ routes: routes(), views: { dir: views }, session: { secrets: [SECRET] } });
    apps.push(served);
    const cookie = cookiePair(await get(served, '/touch'));
    await get(served, '/flash/put/first', cookie);
    await get(served, '/flash/put-other/second', cookie);
    assert.deepStrictEqual(await (await get(served, '/flash/all', cookie)).json(), { info: 'first', other: 'second' });
    assert.deepStrictEqual(await (await get(served, '/flash/all', cookie)).json(), {});
  });

  it('reaches views as `flash` without being passed, once', async () => {
    const served = await serve({ routes: routes(), views: { dir: views }, session: { secrets: [SECRET] } });
    apps.push(served);
    const cookie = cookiePair(await get(served, '/touch'));
    await get(served, '/flash/put/saved', cookie);
    assert.equal(await (await get(served, '/flash/plain', cookie)).text(), 'no flash here');
    assert.equal(await (await get(served, '/flash/page', cookie)).text(), '[saved]', 'a page that does not read it leaves it');
    assert.equal(await (await get(served, '/flash/page', cookie)).text(), '[]');
  });

  it('is shown by exactly one of two concurrent requests', async () => {
    const served = await serve({ routes: routes(), views: { dir: views }, session: { secrets: [SECRET] } });
    apps.push(served);
    const cookie = cookiePair(await get(served, '/touch'));
    for (let round = 0; round < 20; round++) {
      await get(served, `/flash/put/r${round}`, cookie);
      const bodies = await Promise.all([get(served, '/flash/read', cookie), get(served, '/flash/read', cookie)].map(async (r) => (await r).json()));
      assert.deepStrictEqual(
        bodies.map((b) => (b as { info: string | null }).info).filter((v) => v !== null),
        [`r${round}`],
      );
    }
  });

  it('costs a visitor without a session no store access', async () => {
    const store = counting();
    const served = await serve({ routes: routes(), views: { dir: views }, session: { secrets: [SECRET], store } });
    apps.push(served);
    assert.equal(await (await get(served, '/flash/page')).text(), '[]');
    assert.deepStrictEqual(await (await get(served, '/flash/read')).json(), { info: null });
    assert.equal(store.calls.get('takeValue') ?? 0, 0);
    assert.equal(store.calls.get('getValue') ?? 0, 0);
  });

  it('fails with NOVA_ERR_SESSION_STORE_FEATURE on a store without takeValue, naming it', async () => {
    const inner = memoryStore();
    const bare: SessionStore = {
      name: 'bare',
      start: (o) => inner.start(o),
      stop: () => inner.stop(),
      getValue: (id, key) => inner.getValue(id, key),
      setValue: (id, key, value) => inner.setValue(id, key, value),
      deleteValue: (id, key) => inner.deleteValue(id, key),
      rotate: (a, b) => inner.rotate(a, b),
    };
    const served = await serve({ routes: routes(), session: { secrets: [SECRET], store: bare } });
    apps.push(served);
    const cookie = cookiePair(await get(served, '/touch'));
    assert.equal((await get(served, '/touch', cookie)).status, 204, 'everything else works');
    // A 500's message stays in the log, out of the page.
    const logged = () => served.logged.flat().filter((e): e is Error & { code: string } => e instanceof Error);
    assert.equal((await get(served, '/flash/read', cookie)).status, 500);
    assert.equal(logged()[0]?.code, 'NOVA_ERR_SESSION_STORE_FEATURE');
    assert.match(logged()[0]!.message, /session store "bare" does not implement takeValue\(\)/);
    assert.equal((await get(served, '/login/ada', cookie)).status, 500);
    assert.match(logged()[1]!.message, /does not implement bindUser\(\)/);
    // The per-user calls name the method the store lacks too.
    for (const [path, index] of [
      ['/list', 2],
      ['/revoke-others', 3],
      ['/revoke-all', 4],
    ] as const) {
      assert.equal((await get(served, path, cookie)).status, 500, path);
      assert.equal(logged()[index]?.code, 'NOVA_ERR_SESSION_STORE_FEATURE', path);
      assert.match(logged()[index]!.message, /does not implement userOf\(\)/, path);
    }
    assert.equal((await get(served, '/touch', cookie)).status, 204, 'and the session still works');
  });
});

describe('the example app', () => {
  it('stores nothing for a wrong password and renders the login page with the error', async () => {
    const example = new URL('../../examples/login/app.js', import.meta.url).href;
    const { buildApp } = (await import(example)) as { buildApp: (env: NodeJS.ProcessEnv) => import('nova-ts').App };
    const app = buildApp({ PORT: '0', SESSION_SECRET: SECRET, LOGIN_RATE_LIMIT: '0' });
    const server = await app.listen();
    try {
      const { port } = server.address() as import('node:net').AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/login`, { method: 'POST', body: new URLSearchParams({ username: 'ada', password: 'wrong' }) });
      assert.equal(res.status, 401);
      assert.match(await res.text(), /Invalid username or password/);
      const store = app.sessions!.store as import('nova-ts').MemorySessionStore;
      assert.equal(store.liveSessions, 0);
      assert.equal(store.size, 0);
    } finally {
      await app.close();
    }
  });
});
