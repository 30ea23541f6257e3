// Cache safety and security headers (issue 12, points 3 and 4), as a new user would meet them:
// the example app with its defaults, then a framework app for what the example does not show.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cors, csrfToken, json, session, status, type Context } from 'nova-ts';
import { startChild, type Child } from '../helpers/child.js';
import { cookiePair, setCookieFor } from '../helpers/cookies.js';
import { freePort } from '../helpers/outage.js';
import { serve, type Served } from '../helpers/serve.js';

const main = fileURLToPath(new URL('../../examples/login/main.js', import.meta.url));
const SECRET = 'edge-headers-test-secret-0123456789-abcdef';

/** The directives of a Cache-Control value, lower case. */
function directives(res: Response): string[] {
  return (res.headers.get('cache-control') ?? '')
    .split(',')
    .map((d) => d.trim().toLowerCase())
    .filter((d) => d !== '');
}

function varies(res: Response): string[] {
  return (res.headers.get('vary') ?? '')
    .split(',')
    .map((v) => v.trim().toLowerCase())
    .filter((v) => v !== '');
}

function assertPrivate(res: Response, what: string): void {
  assert.ok(directives(res).includes('no-store'), `${what}: Cache-Control ${res.headers.get('cache-control')} has no-store`);
  assert.ok(directives(res).includes('private'), `${what}: Cache-Control ${res.headers.get('cache-control')} has private`);
  assert.ok(varies(res).includes('cookie'), `${what}: Vary ${res.headers.get('vary')} has Cookie`);
}

function assertHtmlHeaders(res: Response, what: string): void {
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', what);
  assert.equal(res.headers.get('x-frame-options'), 'DENY', what);
  assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, what);
  assert.equal(res.headers.get('referrer-policy'), 'strict-origin-when-cross-origin', what);
  assert.equal(res.headers.get('cross-origin-opener-policy'), 'same-origin', what);
}

describe('edge headers: the example app with its defaults', () => {
  let app: Child & { url: string };
  let cookie: string;
  before(async () => {
    const port = await freePort();
    const child = await startChild(main, { PORT: String(port), SESSION_SECRET: SECRET, LOGIN_RATE_LIMIT: '0' }, /listening on/);
    app = Object.assign(child, { url: `http://127.0.0.1:${port}` });
    const res = await fetch(`${app.url}/login`, { method: 'POST', body: new URLSearchParams({ username: 'ada', password: 'password' }), redirect: 'manual' });
    assert.equal(res.status, 302);
    cookie = cookiePair(res);
  });
  after(async () => {
    app.proc.kill('SIGTERM');
    assert.equal(await app.exited, 0);
  });

  it('answers authenticated GET / and GET /profile private, uncacheable and varying by Cookie', async () => {
    const index = await fetch(`${app.url}/`, { headers: { cookie } });
    assert.equal(index.status, 200);
    assert.match(await index.text(), /Hello ada/);
    assertPrivate(index, 'GET /');
    assertHtmlHeaders(index, 'GET /');
    const profile = await fetch(`${app.url}/profile`, { headers: { cookie, accept: 'application/json' } });
    assert.deepEqual(await profile.json(), { username: 'ada' });
    assertPrivate(profile, 'GET /profile');
    assert.equal(profile.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(profile.headers.get('x-frame-options'), null, 'JSON is no page to frame');
  });

  it('keeps a logged-in redirect and a logout private too', async () => {
    const login = await fetch(`${app.url}/login`, { method: 'POST', body: new URLSearchParams({ username: 'bob', password: 'password' }), redirect: 'manual' });
    assertPrivate(login, 'POST /login');
    assert.equal(login.headers.get('x-content-type-options'), 'nosniff', 'a redirect');
    const out = await fetch(`${app.url}/logout`, { headers: { cookie: cookiePair(login) }, redirect: 'manual' });
    assert.equal(out.status, 302);
    assertPrivate(out, 'GET /logout');
  });

  it('serves /login with nosniff, no framing, a referrer policy and an opener policy', async () => {
    const res = await fetch(`${app.url}/login`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assertHtmlHeaders(res, 'GET /login');
    // A first visit gets its cookie, so no shared cache may keep the page; nothing was read from it.
    assert.ok(setCookieFor(res));
    assert.ok(directives(res).includes('no-store'));
    assert.ok(!varies(res).includes('cookie'), 'a fresh visitor has nothing to vary on');
  });

  it('puts nosniff on a 404, a 405, a denial and a plugin-less redirect', async () => {
    const missing = await fetch(`${app.url}/no/such/page`, { headers: { accept: 'text/html' } });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(missing.headers.get('x-frame-options'), 'DENY', 'the 404 page is HTML');
    const wrong = await fetch(`${app.url}/heartbeat`, { method: 'POST' });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('x-content-type-options'), 'nosniff');
    const denied = await fetch(`${app.url}/login`, { method: 'POST', body: new URLSearchParams({ username: 'ada', password: 'nope' }) });
    assert.equal(denied.status, 401);
    assertHtmlHeaders(denied, 'the denial that renders the login page');
    const away = await fetch(`${app.url}/`, { redirect: 'manual' });
    assert.equal(away.status, 302);
    assert.equal(away.headers.get('x-content-type-options'), 'nosniff');
  });

  it('does not count a forged session cookie as a read of a session', async () => {
    const forged = `session_id=${'A'.repeat(43)}.${'B'.repeat(43)}`;
    const res = await fetch(`${app.url}/profile`, { headers: { cookie: forged, accept: 'application/json' } });
    assert.equal(res.status, 401);
    assert.ok(!varies(res).includes('cookie'), `Vary ${res.headers.get('vary')}`);
  });
});

describe('edge headers: a framework app', () => {
  let s: Served;
  before(async () => {
    const html = (body: string, headers: Record<string, string> = {}) =>
      status(200, { headers: { 'content-type': 'text/html; charset=utf-8', ...headers }, body });
    s = await serve({
      session: { secrets: [SECRET], cookieOnWrite: true },
      securityHeaders: { 'referrer-policy': 'same-origin' },
      routes: [
        {
          routes: [
            ['/write', async (ctx: Context) => (await session.set(ctx, 'n', 1), json({}))],
            // Cacheable for anonymous visitors; the session is read, so with a session it is private.
            ['/news', async (ctx: Context) => json({ n: (await session.get(ctx, 'n')) ?? null }, { headers: { 'cache-control': 'public, max-age=60' } })],
            ['/mine', async (ctx: Context) => json({ n: (await session.get(ctx, 'n')) ?? null }, { headers: { 'cache-control': 'private, max-age=60' } })],
            ['/static', () => json({ ok: true }, { headers: { 'cache-control': 'public, max-age=600' } })],
            ['/page', () => html('<p>page</p>')],
            ['/own', () => html('<p>own</p>', { 'X-Frame-Options': 'SAMEORIGIN', 'content-security-policy': "default-src 'self'" })],
            ['/form', (ctx: Context) => html(`<input name="_csrf" value="${csrfToken(ctx)}">`)],
            [
              '/broken',
              async (ctx: Context) => {
                await session.get(ctx, 'n');
                throw new Error('boom');
              },
            ],
          ],
        },
        {
          prefix: '/widget',
          securityHeaders: { 'x-frame-options': false, 'content-security-policy': 'frame-ancestors https://partner.example' },
          routes: [['/', () => html('<p>widget</p>')]],
        },
        { prefix: '/raw', securityHeaders: false, routes: [['/', () => html('<p>raw</p>')]] },
        {
          prefix: '/api',
          plugins: [cors({ allowOrigins: ['https://app.example'], credentials: true })],
          routes: [['/me', async (ctx: Context) => json({ n: (await session.get(ctx, 'n')) ?? null }), { methods: ['get'] }]],
        },
      ],
    });
  });
  after(() => s.close());

  async function sessionCookie(): Promise<string> {
    return cookiePair(await fetch(`${s.url}/write`));
  }

  it('leaves anonymous pages cacheable in the cookie-on-write mode', async () => {
    const res = await fetch(`${s.url}/news`);
    assert.deepEqual(await res.json(), { n: null });
    assert.equal(setCookieFor(res), undefined);
    assert.equal(res.headers.get('cache-control'), 'public, max-age=60');
    assert.equal(res.headers.get('vary'), null);
  });

  it('makes the same page private for a visitor with a session, and a write private', async () => {
    const write = await fetch(`${s.url}/write`);
    assertPrivate(write, 'the write');
    const cookie = cookiePair(write);
    const res = await fetch(`${s.url}/news`, { headers: { cookie } });
    assert.deepEqual(await res.json(), { n: 1 });
    assert.equal(res.headers.get('cache-control'), 'private, no-store', 'public is replaced');
    assert.equal(res.headers.get('vary'), 'Cookie');
  });

  it("keeps the controller's own private policy on a session-reading route", async () => {
    const res = await fetch(`${s.url}/mine`, { headers: { cookie: await sessionCookie() } });
    assert.equal(res.headers.get('cache-control'), 'private, max-age=60');
    assert.equal(res.headers.get('vary'), 'Cookie');
  });

  it('leaves a route that never touches the session alone, cookie or not', async () => {
    const res = await fetch(`${s.url}/static`, { headers: { cookie: await sessionCookie() } });
    assert.equal(res.headers.get('cache-control'), 'public, max-age=600');
    assert.equal(res.headers.get('vary'), null);
  });

  it("merges Cookie into cors()'s Vary: Origin", async () => {
    const res = await fetch(`${s.url}/api/me`, { headers: { cookie: await sessionCookie(), origin: 'https://app.example' } });
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.equal(res.headers.get('vary'), 'Origin, Cookie');
    assert.equal(res.headers.get('cache-control'), 'private, no-store');
  });

  it('puts nosniff on a CORS preflight the plugin answers', async () => {
    const res = await fetch(`${s.url}/api/me`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' } });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  });

  it('keeps an error page for a request that read the session out of shared caches', async () => {
    const res = await fetch(`${s.url}/broken`, { headers: { cookie: await sessionCookie() } });
    assert.equal(res.status, 500);
    assert.ok(directives(res).includes('no-store'));
    assert.ok(varies(res).includes('cookie'), `Vary ${res.headers.get('vary')}`);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  });

  it('keeps a page carrying a CSRF token out of shared caches, varying by Cookie', async () => {
    const res = await fetch(`${s.url}/form`, { headers: { cookie: await sessionCookie() } });
    assertPrivate(res, 'a form with a token');
  });

  it('applies the app-wide setting and keeps headers the controller set itself', async () => {
    const page = await fetch(`${s.url}/page`);
    assert.equal(page.headers.get('referrer-policy'), 'same-origin', 'config.securityHeaders');
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    const own = await fetch(`${s.url}/own`);
    assert.equal(own.headers.get('x-frame-options'), 'SAMEORIGIN');
    assert.equal(own.headers.get('content-security-policy'), "default-src 'self'");
    assert.equal(own.headers.get('referrer-policy'), 'same-origin');
  });

  it('lets a route group change them: an embeddable widget, a group with none', async () => {
    const widget = await fetch(`${s.url}/widget`);
    assert.equal(widget.headers.get('x-frame-options'), null);
    assert.equal(widget.headers.get('content-security-policy'), 'frame-ancestors https://partner.example');
    assert.equal(widget.headers.get('referrer-policy'), 'same-origin', 'the app-wide setting still applies');
    assert.equal(widget.headers.get('x-content-type-options'), 'nosniff');
    const raw = await fetch(`${s.url}/raw`);
    for (const name of ['x-content-type-options', 'x-frame-options', 'content-security-policy', 'referrer-policy', 'cross-origin-opener-policy']) {
      assert.equal(raw.headers.get(name), null, name);
    }
    // A path no group matched gets the app-wide headers.
    const missing = await fetch(`${s.url}/widget/nothing-here`, { headers: { accept: 'text/html' } });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('x-frame-options'), 'DENY');
  });
});
