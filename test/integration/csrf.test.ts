import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { csrf, csrfToken, json, requestPlugin, session, status, type Context, type MemorySessionStore, type NovaConfigInput, type RouteGroup } from 'nova-ts';
import { cookiePair, setCookieFor } from '../helpers/cookies.js';
import { serve, type Served } from '../helpers/serve.js';

const SECRET = 'a-test-secret-that-is-long-enough-1234';
const NEW_SECRET = 'a-newer-secret-that-is-long-enough-999';

let reachedController = 0;

function routes(): RouteGroup[] {
  return [
    {
      plugins: [requestPlugin(), csrf()],
      routes: [
        // The form page: hands out a token and stores nothing.
        ['/form', (ctx: Context) => json({ token: csrfToken(ctx), again: csrfToken(ctx) }), { methods: ['get'] }],
        ['/change', () => ((reachedController += 1), json({ changed: true }, { status: 200 })), { methods: ['post', 'put', 'patch', 'delete', 'options'] }],
        ['/cached-form', (ctx: Context) => json({ token: csrfToken(ctx) }, { headers: { 'cache-control': 'public, max-age=600' } }), { methods: ['get'] }],
        [
          '/login',
          async (ctx: Context) => {
            await session.regenerate(ctx);
            await session.set(ctx, 'username', 'ada');
            // A page rendered after the login carries the new session's token.
            return json({ token: csrfToken(ctx) }, { status: 200 });
          },
          { methods: ['post'] },
        ],
        ['/logout', async (ctx: Context) => (await session.delete(ctx), status(204)), { methods: ['post'] }],
      ],
    },
  ];
}

async function start(extra: Partial<NovaConfigInput> = {}): Promise<Served> {
  return serve({ routes, session: { secrets: [SECRET] }, ...extra });
}

/** GET /form: the session cookie and a token. */
async function form(s: Served, cookie?: string): Promise<{ cookie: string; token: string; again: string }> {
  const res = await fetch(`${s.url}/form`, { headers: cookie ? { cookie } : {} });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { token: string; again: string };
  return { cookie: cookie ?? cookiePair(res), ...body };
}

function postForm(s: Served, cookie: string, fields: string, path = '/change', method = 'POST') {
  return fetch(`${s.url}${path}`, {
    method,
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: fields,
  });
}

async function refusal(res: Response): Promise<void> {
  assert.equal(res.status, 403);
  assert.match(await res.text(), /cross-site request refused/);
}

describe('csrf plugin', () => {
  let s: Served;
  before(async () => {
    s = await start();
  });
  after(() => s.close());

  it('lets a form post with its token through, in the form field or the header or a JSON body', async () => {
    const { cookie, token } = await form(s);
    const before = reachedController;
    assert.equal((await postForm(s, cookie, `_csrf=${token}&x=1`)).status, 200);
    const viaHeader = await fetch(`${s.url}/change`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': token } });
    assert.equal(viaHeader.status, 200);
    const viaJson = await fetch(`${s.url}/change`, {
      method: 'PUT',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ _csrf: token, x: 1 }),
    });
    assert.equal(viaJson.status, 200);
    assert.equal(reachedController, before + 3);
  });

  it('refuses a change with no token, before the controller runs', async () => {
    const { cookie } = await form(s);
    const before = reachedController;
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) await refusal(await postForm(s, cookie, 'x=1', '/change', method));
    assert.equal(reachedController, before);
  });

  it("refuses another session's token, a tampered one, a malformed one and one sent twice", async () => {
    const mine = await form(s);
    const theirs = await form(s);
    await refusal(await postForm(s, mine.cookie, `_csrf=${theirs.token}`));
    const flipped = mine.token.slice(0, 10) + (mine.token[10] === 'A' ? 'B' : 'A') + mine.token.slice(11);
    await refusal(await postForm(s, mine.cookie, `_csrf=${flipped}`));
    for (const bad of ['', 'short', `${mine.token}A`, mine.token.replace(/.$/, 'B'), '%00'.repeat(86)]) {
      await refusal(await postForm(s, mine.cookie, `_csrf=${bad}`));
    }
    await refusal(await postForm(s, mine.cookie, `_csrf=${mine.token}&_csrf=${mine.token}`));
    // A forged cross-site post carries the victim's cookie but cannot read the token.
    await refusal(await postForm(s, mine.cookie, 'x=1'));
  });

  it('refuses a token without the session it belongs to', async () => {
    const { token } = await form(s);
    const res = await fetch(`${s.url}/change`, { method: 'POST', headers: { 'x-csrf-token': token } });
    await refusal(res);
  });

  it('spells the token differently on every call, and accepts every spelling', async () => {
    const { cookie, token, again } = await form(s);
    const later = await form(s, cookie);
    assert.notEqual(token, again);
    assert.notEqual(token, later.token);
    for (const t of [token, again, later.token, later.again]) assert.equal((await postForm(s, cookie, `_csrf=${t}`)).status, 200);
  });

  it('changes the token when the session id changes: at login and at logout', async () => {
    const before = await form(s);
    const login = await postForm(s, before.cookie, `_csrf=${before.token}`, '/login');
    assert.equal(login.status, 200);
    const loggedIn = cookiePair(login);
    const { token: afterLogin } = (await login.json()) as { token: string };
    // The pre-login token belonged to the old id (session fixation would otherwise carry it over).
    await refusal(await postForm(s, loggedIn, `_csrf=${before.token}`));
    assert.equal((await postForm(s, loggedIn, `_csrf=${afterLogin}`)).status, 200);

    const logout = await postForm(s, loggedIn, `_csrf=${afterLogin}`, '/logout');
    assert.equal(logout.status, 204);
    const fresh = await form(s);
    await refusal(await postForm(s, fresh.cookie, `_csrf=${afterLogin}`));
  });

  it('stores nothing for an anonymous visitor given a token', async () => {
    const store = s.app.sessions!.store as MemorySessionStore;
    const live = store.liveSessions;
    for (let i = 0; i < 20; i += 1) await form(s);
    assert.equal(store.liveSessions, live);
  });

  it('asks nothing of GET, HEAD and OPTIONS', async () => {
    assert.equal((await fetch(`${s.url}/form`)).status, 200);
    assert.equal((await fetch(`${s.url}/form`, { method: 'HEAD' })).status, 200);
    const before = reachedController;
    assert.equal((await fetch(`${s.url}/change`, { method: 'OPTIONS' })).status, 200);
    assert.equal(reachedController, before + 1);
  });

  it("is not the cookie's MAC: the cookie's signature presented as a token is refused", async () => {
    const { cookie } = await form(s);
    const cookieMac = Buffer.from(cookie.split('.')[1]!, 'base64url');
    // Masked with zero bytes, a token is its MAC as is.
    const asToken = Buffer.concat([Buffer.alloc(32), cookieMac]).toString('base64url');
    await refusal(await postForm(s, cookie, `_csrf=${asToken}`));
  });

  it('keeps pages carrying a token out of shared caches', async () => {
    const { cookie } = await form(s);
    const page = await fetch(`${s.url}/form`, { headers: { cookie } });
    assert.equal(setCookieFor(page), undefined, 'an existing session sends no cookie');
    assert.equal(page.headers.get('cache-control'), 'private, no-store');
    assert.equal(page.headers.get('vary'), 'Cookie', "the token is this session's: caches must key on the cookie");
    const asked = await fetch(`${s.url}/cached-form`, { headers: { cookie } });
    assert.equal(asked.headers.get('cache-control'), 'private, no-store');
  });
});

describe('csrf plugin: configurations', () => {
  it('sends the cookie a token is bound to even with cookieOnWrite', async () => {
    const s = await start({ session: { secrets: [SECRET], cookieOnWrite: true } });
    try {
      const res = await fetch(`${s.url}/form`);
      assert.ok(setCookieFor(res) !== undefined, 'the form response sets the session cookie');
      const { token } = (await res.json()) as { token: string };
      assert.equal((await postForm(s, cookiePair(res), `_csrf=${token}`)).status, 200);
    } finally {
      await s.close();
    }
  });

  it('accepts tokens made with an older secret while it is still listed, and ends with it', async () => {
    const old = await start();
    const { cookie, token } = await form(old);
    await old.close();
    const rotated = await start({ session: { secrets: [NEW_SECRET, SECRET] } });
    try {
      assert.equal((await postForm(rotated, cookie, `_csrf=${token}`)).status, 200);
    } finally {
      await rotated.close();
    }
    const dropped = await start({ session: { secrets: [NEW_SECRET] } });
    try {
      await refusal(await postForm(dropped, cookie, `_csrf=${token}`));
    } finally {
      await dropped.close();
    }
  });

  it('takes another header or field name', async () => {
    const custom = (): RouteGroup[] => [
      {
        plugins: [requestPlugin(), csrf({ header: 'X-XSRF-Token', field: 'authenticity_token' })],
        routes: [
          ['/form', (ctx: Context) => json({ token: csrfToken(ctx) }), { methods: ['get'] }],
          ['/change', () => json({}, { status: 200 }), { methods: ['post'] }],
        ],
      },
    ];
    const s = await serve({ routes: custom, session: { secrets: [SECRET] } });
    try {
      const { cookie, token } = await form(s);
      assert.equal((await fetch(`${s.url}/change`, { method: 'POST', headers: { cookie, 'x-xsrf-token': token } })).status, 200);
      assert.equal((await postForm(s, cookie, `authenticity_token=${token}`)).status, 200);
      await refusal(await postForm(s, cookie, `_csrf=${token}`));
    } finally {
      await s.close();
    }
  });

  it('refuses bad options when it is created', () => {
    assert.throws(() => csrf({ headr: 'x' } as never), /NOVA_ERR_PLUGIN_INVALID|unknown option "headr"/);
    assert.throws(() => csrf({ header: 'x csrf' }), /not a valid header name/);
    assert.throws(() => csrf({ field: '' }), /non-empty/);
  });

  it('fails clearly when sessions are off', async () => {
    const s = await serve({ routes, useSessions: false });
    try {
      const res = await fetch(`${s.url}/change`, { method: 'POST', headers: { 'x-csrf-token': 'x' } });
      assert.equal(res.status, 500);
    } finally {
      await s.close();
    }
    assert.ok(s.logged.some((line) => line.some((part) => part instanceof Error && /sessions are turned off/.test(part.message))));
  });
});
