import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { json, memoryStore, session, status, type Context, type Json, type NovaConfigInput, type RouteGroup } from 'nova-ts';
import { generateSessionId } from '../../src/session/id.js';
import { sign } from '../../src/session/signing.js';
import { attributes, cookiePair, setCookieFor } from '../helpers/cookies.js';
import { serve, type Served } from '../helpers/serve.js';

const SECRET = 'a-test-secret-that-is-long-enough-1234';
const OLD_SECRET = 'an-older-secret-that-is-long-enough-5678';

function routes(): RouteGroup[] {
  return [
    {
      routes: [
        ['/get/:key', async (ctx: Context) => json({ value: (await session.get(ctx, ctx.bindings.key!)) ?? null })],
        [
          '/set/:key/:value',
          async (ctx: Context) => {
            await session.set(ctx, ctx.bindings.key!, ctx.bindings.value!);
            return json({ id: session.id(ctx), value: (await session.get(ctx, ctx.bindings.key!)) ?? null });
          },
        ],
        ['/del/:key', async (ctx: Context) => (await session.delete(ctx, ctx.bindings.key!), status(204))],
        ['/logout', async (ctx: Context) => (await session.delete(ctx), status(204))],
        [
          '/regenerate',
          async (ctx: Context) => {
            const before = session.id(ctx);
            const after = await session.regenerate(ctx);
            return json({ before, after, username: (await session.get(ctx, 'username')) ?? null });
          },
        ],
        ['/id', (ctx: Context) => json({ id: session.id(ctx) })],
        ['/set-json', async (ctx: Context) => (await session.set(ctx, 'obj', { nested: [1, 2, { deep: true }] }), status(204))],
        ['/set-bad', async (ctx: Context) => (await session.set(ctx, 'when', new Date() as unknown as Json), status(204))],
        [
          '/login-with-theme',
          async (ctx: Context) => {
            await session.regenerate(ctx);
            await session.set(ctx, 'username', 'ada');
            return json({ ok: true }, { headers: { 'set-cookie': 'theme=dark; Path=/' } });
          },
        ],
        [
          '/logout-with-flash',
          async (ctx: Context) => {
            await session.delete(ctx);
            await session.set(ctx, 'flash', 'You are logged out');
            return status(204);
          },
        ],
        ['/public', async (ctx: Context) => (await session.set(ctx, 'k', 1), json({}, { headers: { 'cache-control': 'public, max-age=600' } }))],
        ['/adopt-bad', (ctx: Context) => (session.adopt(ctx, 'chosen-by-the-client'), status(204))],
        [
          '/direct',
          async (ctx: Context) => {
            // Nova's guide: generate an id, write through the store, set the cookie.
            const id = session.generateSessionId();
            await session.store(ctx).setValue(id, 'username', 'direct');
            session.adopt(ctx, id);
            return json({ id });
          },
        ],
      ],
    },
  ];
}

async function start(extra: Partial<NovaConfigInput> = {}, sessionExtra: Record<string, unknown> = {}) {
  const store = memoryStore();
  const s = await serve({ routes, ...extra, session: { secrets: [SECRET], store, ...sessionExtra } } as NovaConfigInput);
  return Object.assign(s, { store });
}

describe('sessions: the cookie step', () => {
  let s: Served & { store: ReturnType<typeof memoryStore> };
  before(async () => (s = await start()));
  after(() => s.close());

  it('gives a cookieless request a signed session cookie with secure defaults, and stores nothing', async () => {
    const res = await fetch(`${s.url}/id`);
    const line = setCookieFor(res);
    assert.ok(line, 'a Set-Cookie for session_id');
    const attrs = attributes(line);
    assert.equal(attrs.get('path'), '/');
    assert.ok(attrs.has('httponly'));
    assert.equal(attrs.get('samesite')?.toLowerCase(), 'lax');
    assert.ok(!attrs.has('secure'), 'no Secure on plain http');
    assert.equal(res.headers.get('cache-control'), 'private, no-store');
    const { id } = (await res.json()) as { id: string };
    assert.match(id, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
    assert.equal(Buffer.from(id, 'base64url').length, 32);
    assert.equal(cookiePair(res), `session_id=${sign(id, [SECRET])}`);
    assert.equal(s.store.size, 0, 'nothing stored before the first set');
  });

  it('lets the first request use its new id, and the cookie carries it to the next', async () => {
    const first = await fetch(`${s.url}/set/color/blue`);
    const { id, value } = (await first.json()) as { id: string; value: string };
    assert.equal(value, 'blue');
    const again = await fetch(`${s.url}/get/color`, { headers: { cookie: cookiePair(first) } });
    assert.deepEqual(await again.json(), { value: 'blue' });
    assert.equal(setCookieFor(again), undefined, 'a valid cookie is not re-sent');
    assert.equal(s.store.size > 0, true);
    void id;
  });

  it('treats missing, malformed, tampered, unsigned, foreign-signed and duplicated cookies as absent', async () => {
    const made = await fetch(`${s.url}/set/username/ada`);
    const good = cookiePair(made).slice('session_id='.length);
    const [id, mac] = good.split('.') as [string, string];
    const flipped = `${id}.${mac.slice(0, -1)}${mac.at(-1) === 'A' ? 'B' : 'A'}`;
    const bad = [
      '',
      'x',
      'a'.repeat(10_000),
      id,
      `${id}.`,
      `${good}garbage`,
      `${good}.extra`,
      flipped,
      `${id}.${mac.slice(0, 10)}`,
      sign(id, ['someone-elses-secret-that-is-long-enough']),
      '%E0%A4%A',
      '"quoted"',
      '../../x',
      "' OR 1=1",
      '__proto__',
      'constructor',
      `${good}; session_id=${good}`,
    ];
    for (const value of bad) {
      const res = await fetch(`${s.url}/get/username`, { headers: { cookie: `session_id=${value}` } });
      assert.ok(res.status < 500, `no 5xx for ${JSON.stringify(value.slice(0, 40))}`);
      assert.deepEqual(await res.json(), { value: null }, `not logged in with ${JSON.stringify(value.slice(0, 40))}`);
      const fresh = setCookieFor(res);
      assert.ok(fresh, 'a new cookie is issued');
      const freshValue = fresh.split(';')[0]!.slice('session_id='.length);
      assert.notEqual(freshValue, value, 'the client value is never echoed');
      assert.ok(!freshValue.startsWith(id), 'the client id is never adopted');
    }
    const ok = await fetch(`${s.url}/get/username`, { headers: { cookie: `other=1; session_id=${good}; theme=dark` } });
    assert.deepEqual(await ok.json(), { value: 'ada' }, 'neighbouring cookies do not matter');
    const twoHeaders = await fetch(`${s.url}/get/username`, {
      headers: [
        ['cookie', `session_id=${good}`],
        ['cookie', `session_id=${good}`],
      ],
    });
    assert.deepEqual(await twoHeaders.json(), { value: null }, 'a name sent twice is absent');
  });

  it('never adopts a well-formed but unsigned or unknown id: set lands under a server id', async () => {
    const forged = generateSessionId();
    const res = await fetch(`${s.url}/set/k/v`, { headers: { cookie: `session_id=${forged}` } });
    const { id } = (await res.json()) as { id: string };
    assert.notEqual(id, forged);
    assert.equal(await s.store.getValue(forged, 'k'), undefined, 'no record under the forged value');
  });

  it('answers a garbage Cookie header with no 5xx (Nova answers 500 for any URL)', async () => {
    const res = await fetch(`${s.url}/id`, { headers: { cookie: '=;;;==; ;a=%ZZ; session_id' } });
    assert.equal(res.status, 200);
  });
});

describe('sessions: the API', () => {
  let s: Served & { store: ReturnType<typeof memoryStore> };
  before(async () => (s = await start()));
  after(() => s.close());

  it('get of a missing key is undefined; set stores JSON copies; delete(key) removes one key', async () => {
    const r1 = await fetch(`${s.url}/set-json`);
    const cookie = cookiePair(r1);
    const got = await fetch(`${s.url}/get/obj`, { headers: { cookie } });
    assert.deepEqual(await got.json(), { value: { nested: [1, 2, { deep: true }] } });
    assert.deepEqual(await (await fetch(`${s.url}/get/nope`, { headers: { cookie } })).json(), { value: null });
    assert.deepEqual(await (await fetch(`${s.url}/get/toString`, { headers: { cookie } })).json(), { value: null });
    await fetch(`${s.url}/set/a/1`, { headers: { cookie } });
    await fetch(`${s.url}/del/a`, { headers: { cookie } });
    assert.deepEqual(await (await fetch(`${s.url}/get/a`, { headers: { cookie } })).json(), { value: null });
    assert.deepEqual(await (await fetch(`${s.url}/get/obj`, { headers: { cookie } })).json(), { value: { nested: [1, 2, { deep: true }] } });
  });

  it('refuses a non-JSON value with a clear error, not a stored surprise', async () => {
    const res = await fetch(`${s.url}/set-bad`, { headers: { accept: 'application/json' } });
    assert.equal(res.status, 500);
    assert.ok(
      s.logged.some((l) => l.some((x) => String((x as Error)?.message ?? x).includes('when'))),
      'the log names the key',
    );
  });

  it('delete() removes the session server side and expires the cookie with the same attributes; replay finds nothing', async () => {
    const login = await fetch(`${s.url}/set/username/ada`);
    const cookie = cookiePair(login);
    const out = await fetch(`${s.url}/logout`, { headers: { cookie } });
    const line = setCookieFor(out)!;
    const attrs = attributes(line);
    assert.ok(line.startsWith('session_id=;'));
    assert.equal(attrs.get('max-age'), '0');
    assert.equal(attrs.get('path'), '/');
    assert.ok(attrs.has('httponly'));
    assert.ok(attrs.has('expires'));
    const replay = await fetch(`${s.url}/get/username`, { headers: { cookie } });
    assert.deepEqual(await replay.json(), { value: null });
  });

  it('a write with a logged-out id never resurrects it: it lands in a new session', async () => {
    const login = await fetch(`${s.url}/set/username/ada`);
    const cookie = cookiePair(login);
    const { id: oldId } = (await (await fetch(`${s.url}/id`, { headers: { cookie } })).json()) as { id: string };
    await fetch(`${s.url}/logout`, { headers: { cookie } });
    const late = await fetch(`${s.url}/set/cart/1`, { headers: { cookie } });
    const { id: newId } = (await late.json()) as { id: string };
    assert.notEqual(newId, oldId);
    assert.equal(await s.store.getValue(oldId, 'cart'), undefined);
    assert.equal(await s.store.getValue(newId, 'username'), undefined);
    assert.ok(setCookieFor(late), 'the new session gets its own cookie');
  });

  it('regenerate(): new id, data kept, old id deleted, new cookie sent', async () => {
    const login = await fetch(`${s.url}/set/username/ada`);
    const cookie = cookiePair(login);
    const res = await fetch(`${s.url}/regenerate`, { headers: { cookie } });
    const body = (await res.json()) as { before: string; after: string; username: string };
    assert.notEqual(body.before, body.after);
    assert.equal(body.username, 'ada');
    assert.equal(cookiePair(res), `session_id=${sign(body.after, [SECRET])}`);
    assert.deepEqual(await (await fetch(`${s.url}/get/username`, { headers: { cookie } })).json(), { value: null }, 'old cookie is dead');
    assert.deepEqual(await (await fetch(`${s.url}/get/username`, { headers: { cookie: cookiePair(res) } })).json(), { value: 'ada' });
  });

  it('regenerate with a logged-out id starts an empty session instead of failing', async () => {
    const cookie = cookiePair(await fetch(`${s.url}/set/username/ada`));
    await fetch(`${s.url}/logout`, { headers: { cookie } });
    const res = await fetch(`${s.url}/regenerate`, { headers: { cookie } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { after: string; username: string | null };
    assert.equal(body.username, null);
    assert.equal(cookiePair(res), `session_id=${sign(body.after, [SECRET])}`);
  });

  it('a visitor who logs in on the first request gets one session cookie, for the final id', async () => {
    const res = await fetch(`${s.url}/regenerate`);
    const { after } = (await res.json()) as { after: string };
    const lines = res.headers.getSetCookie().filter((c) => c.startsWith('session_id='));
    assert.deepEqual(
      lines.map((l) => l.split(';')[0]),
      [`session_id=${sign(after, [SECRET])}`],
    );
  });

  it("supports Nova's guide flow: generateSessionId + direct store write + cookie", async () => {
    const res = await fetch(`${s.url}/direct`);
    const { id } = (await res.json()) as { id: string };
    assert.equal(cookiePair(res), `session_id=${sign(id, [SECRET])}`);
    assert.equal(res.headers.getSetCookie().filter((c) => c.startsWith('session_id=')).length, 1, 'one session cookie, not two');
    assert.deepEqual(await (await fetch(`${s.url}/get/username`, { headers: { cookie: cookiePair(res) } })).json(), { value: 'direct' });
  });

  it("a result's own Set-Cookie adds to the session cookie instead of replacing it", async () => {
    const res = await fetch(`${s.url}/login-with-theme`);
    const cookies = res.headers.getSetCookie();
    assert.ok(cookies.includes('theme=dark; Path=/'));
    assert.deepEqual(await (await fetch(`${s.url}/get/username`, { headers: { cookie: cookiePair(res) } })).json(), { value: 'ada' });
  });

  it('a write after delete() in the same request gets a live cookie, not an expired one', async () => {
    const cookie = cookiePair(await fetch(`${s.url}/set/username/ada`));
    const res = await fetch(`${s.url}/logout-with-flash`, { headers: { cookie } });
    const lines = res.headers.getSetCookie().filter((c) => c.startsWith('session_id='));
    assert.equal(lines.length, 1);
    assert.ok(!attributes(lines[0]!).has('max-age'), 'not the expiring cookie');
    const fresh = cookiePair(res);
    assert.deepEqual(await (await fetch(`${s.url}/get/flash`, { headers: { cookie: fresh } })).json(), { value: 'You are logged out' });
    assert.deepEqual(await (await fetch(`${s.url}/get/username`, { headers: { cookie: fresh } })).json(), { value: null });
  });

  it('a response that sets the session cookie is never publicly cacheable', async () => {
    const res = await fetch(`${s.url}/public`);
    assert.ok(setCookieFor(res));
    assert.equal(res.headers.get('cache-control'), 'private, no-store');
  });

  it('adopt refuses a value that is not a session id', async () => {
    const res = await fetch(`${s.url}/adopt-bad`, { headers: { accept: 'application/json' } });
    assert.equal(res.status, 500);
    assert.ok(!res.headers.getSetCookie().some((c) => c.includes('chosen-by-the-client')));
    assert.ok(s.logged.some((l) => l.some((x) => (x as { code?: string })?.code === 'NOVA_ERR_SESSION_ID_INVALID')));
  });

  it('concurrent requests writing different keys all survive', async () => {
    const cookie = cookiePair(await fetch(`${s.url}/set/k0/v0`));
    await Promise.all(Array.from({ length: 50 }, (_, i) => fetch(`${s.url}/set/k${i}/v${i}`, { headers: { cookie } }).then((r) => r.text())));
    for (let i = 0; i < 50; i += 1) {
      assert.deepEqual(await (await fetch(`${s.url}/get/k${i}`, { headers: { cookie } })).json(), { value: `v${i}` });
    }
  });
});

describe('sessions: configuration', () => {
  it('verifies cookies signed with any listed secret, signs new ones with the first', async () => {
    const store = memoryStore();
    const old = await serve({ routes, session: { secrets: [OLD_SECRET], store } });
    const cookie = cookiePair(await fetch(`${old.url}/set/username/ada`));
    await old.close();
    const rotated = await serve({ routes, session: { secrets: [SECRET, OLD_SECRET], store } });
    try {
      assert.deepEqual(await (await fetch(`${rotated.url}/get/username`, { headers: { cookie } })).json(), { value: 'ada' });
      const fresh = await fetch(`${rotated.url}/id`);
      const { id } = (await fresh.json()) as { id: string };
      assert.equal(cookiePair(fresh), `session_id=${sign(id, [SECRET])}`);
    } finally {
      await rotated.close();
    }
  });

  it('cookieOnWrite sends no cookie until something is written', async () => {
    const s = await start({}, { cookieOnWrite: true });
    try {
      const read = await fetch(`${s.url}/get/x`);
      assert.equal(setCookieFor(read), undefined);
      const write = await fetch(`${s.url}/set/x/1`);
      assert.ok(setCookieFor(write));
      assert.deepEqual(await (await fetch(`${s.url}/get/x`, { headers: { cookie: cookiePair(write) } })).json(), { value: '1' });
    } finally {
      await s.close();
    }
  });

  it('Secure on HTTPS only through a trusted proxy; Max-Age, Domain and the __Host- prefix when asked', async () => {
    const plain = await start();
    const proxied = await start({ trustProxy: true }, { maxAge: 3600, domain: 'example.com' });
    const host = await start({}, { hostPrefix: true });
    try {
      const spoofed = setCookieFor(await fetch(`${plain.url}/id`, { headers: { 'x-forwarded-proto': 'https' } }))!;
      assert.ok(!attributes(spoofed).has('secure'), 'X-Forwarded-Proto is not trusted by default');
      const viaProxy = setCookieFor(await fetch(`${proxied.url}/id`, { headers: { 'x-forwarded-proto': 'https' } }))!;
      const a = attributes(viaProxy);
      assert.ok(a.has('secure'));
      assert.equal(a.get('max-age'), '3600');
      assert.equal(a.get('domain'), 'example.com');
      const prefixed = setCookieFor(await fetch(`${host.url}/id`), '__Host-session_id')!;
      const h = attributes(prefixed);
      assert.ok(h.has('secure'));
      assert.equal(h.get('path'), '/');
      assert.ok(!h.has('domain'));
    } finally {
      await Promise.all([plain.close(), proxied.close(), host.close()]);
    }
  });

  it('useSessions: false sends no cookie and the API throws a clear error', async () => {
    const s = await serve({ routes, useSessions: false });
    try {
      const res = await fetch(`${s.url}/id`, { headers: { accept: 'application/json' } });
      assert.equal(res.status, 500);
      assert.equal(res.headers.getSetCookie().length, 0);
      assert.ok(s.logged.some((l) => l.some((x) => (x as { code?: string })?.code === 'NOVA_ERR_SESSIONS_DISABLED')));
    } finally {
      await s.close();
    }
  });

  it('warns when no secret is configured', async () => {
    const s = await serve({ routes });
    try {
      assert.ok(s.logged.some((l) => /no session secret configured/.test(String(l[0]))));
    } finally {
      await s.close();
    }
  });

  it('starts with fractional timeouts (seconds that are not whole milliseconds)', async () => {
    const s = await start({}, { idleTimeout: 1.0007, absoluteTimeout: 2.0003 });
    try {
      const cookie = cookiePair(await fetch(`${s.url}/set/k/v`));
      assert.deepEqual(await (await fetch(`${s.url}/get/k`, { headers: { cookie } })).json(), { value: 'v' });
    } finally {
      await s.close();
    }
  });

  it('an idle session is gone after the idle timeout, enforced server side', async () => {
    const s = await start({}, { idleTimeout: 0.4, touchInterval: 0.01 });
    try {
      const cookie = cookiePair(await fetch(`${s.url}/set/username/ada`));
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(await (await fetch(`${s.url}/get/username`, { headers: { cookie } })).json(), { value: 'ada' }, 'activity slides the timer');
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(await (await fetch(`${s.url}/get/username`, { headers: { cookie } })).json(), { value: 'ada' }, 'still alive: 300 ms since last use');
      await new Promise((r) => setTimeout(r, 600));
      assert.deepEqual(await (await fetch(`${s.url}/get/username`, { headers: { cookie } })).json(), { value: null });
    } finally {
      await s.close();
    }
  });
});

describe('sessions: a store that is down', () => {
  it('answers 503 with a clear message, never a crash, never a logged-in page', async () => {
    const { errors } = await import('nova-ts');
    const down = {
      name: 'down',
      getValue: async () => {
        throw errors.sessionStoreUnavailable('connection refused');
      },
      setValue: async () => {
        throw errors.sessionStoreUnavailable('connection refused');
      },
      deleteValue: async () => {
        throw errors.sessionStoreUnavailable('connection refused');
      },
      rotate: async () => {
        throw errors.sessionStoreUnavailable('connection refused');
      },
    };
    const s = await serve({
      routes: [
        ...routes(),
        {
          prefix: '/private',
          security: async (ctx: Context) => (await session.get(ctx, 'username')) !== undefined,
          routes: [['/', () => json({ secret: true })]],
        },
      ],
      session: { secrets: [SECRET], store: down },
    });
    try {
      const cookie = `session_id=${sign(generateSessionId(), [SECRET])}`;
      for (const path of ['/get/username', '/set/a/b', '/private']) {
        const res = await fetch(`${s.url}${path}`, { headers: { cookie, accept: 'application/json' } });
        assert.equal(res.status, 503, path);
        const body = (await res.json()) as { message: string };
        assert.match(body.message, /unavailable/i);
        assert.doesNotMatch(JSON.stringify(body), /secret/);
      }
      assert.equal((await fetch(`${s.url}/id`)).status, 200, 'the process is still serving');
    } finally {
      await s.close();
    }
  });
});
