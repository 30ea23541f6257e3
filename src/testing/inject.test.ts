// The test client: `inject` runs a request through an app's whole request path without a socket,
// and `agent` keeps cookies across requests, so a test can log in and go on as that user.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApp, json, requestPlugin, sendfile, session, type App, type Context } from 'nova-ts';
import { agent, inject } from 'nova-ts/testing';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const SECRET = 'inject-test-secret-0123456789-abcdefghijklmnop';

/** No TCP server or socket exists in this process while the client runs. */
function assertNoSockets(app: App): void {
  assert.equal(app.server, undefined, 'the app is not listening');
  const tcp = process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP'));
  assert.deepEqual(tcp, [], 'no socket was opened');
}

describe('inject on a small app', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nova-inject-'));
  const big = Buffer.alloc(256 * 1024, 'n');
  writeFileSync(join(dir, 'big.txt'), big);
  const app = createApp({
    logger: quiet,
    session: { secrets: [SECRET] },
    plugins: [requestPlugin()],
    routes: [
      {
        security: false,
        routes: [
          ['/echo', (ctx: Context) => json({ got: ctx.json, query: ctx.query, address: ctx.clientAddress }), { methods: ['post'] }],
          [
            '/count',
            async (ctx: Context) => {
              const n = ((await session.get(ctx, 'count' as never)) as number | undefined) ?? 0;
              await session.set(ctx, 'count' as never, (n + 1) as never);
              return json({ count: n + 1 });
            },
            { methods: ['get'] },
          ],
          ['/file', () => sendfile(join(dir, 'big.txt'), { mime: 'text/plain' }), { methods: ['get'] }],
        ],
      },
    ],
  });
  after(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends a JSON body to a JSON route and reads the JSON answer, starting the app itself', async () => {
    const res = await inject(app, { method: 'POST', url: '/echo?x=1', body: { hello: 'world', n: [1, 2] } });
    assert.equal(res.status, 201, "Nova's json on a POST");
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.deepEqual(res.json(), { got: { hello: 'world', n: [1, 2] }, query: { x: '1' }, address: '127.0.0.1' });
    assert.equal(res.headers['x-content-type-options'], 'nosniff', 'security headers go out');
    assert.equal(app.readiness().ready, true, 'the first inject started the app');
    assertNoSockets(app);
  });

  it('takes the client address to report', async () => {
    const res = await inject(app, { method: 'POST', url: '/echo', body: '{}', headers: { 'content-type': 'application/json' }, remoteAddress: '203.0.113.9' });
    assert.equal(res.json<{ address: string }>().address, '203.0.113.9');
  });

  it('answers 404 for an unknown path', async () => {
    const res = await inject(app, { url: '/nowhere', headers: { accept: 'application/json' } });
    assert.equal(res.status, 404);
  });

  it('waits for a streamed file to its last byte', async () => {
    const res = await inject(app, { url: '/file' });
    assert.equal(res.status, 200);
    assert.equal(res.rawBody.length, big.length);
    assert.ok(res.rawBody.equals(big));
  });

  it('gives the session cookie parsed, and a request carrying it reaches the same session', async () => {
    const first = await inject(app, { url: '/count' });
    const cookie = first.cookies.find((c) => c.name === 'session_id');
    assert.ok(cookie, 'a session cookie was set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.path, '/');
    assert.equal(cookie.sameSite, 'lax');
    const second = await inject(app, { url: '/count', cookies: { session_id: cookie.value } });
    assert.deepEqual(second.json(), { count: 2 });
    const stranger = await inject(app, { url: '/count' });
    assert.deepEqual(stranger.json(), { count: 1 }, 'no cookie, no session');
  });

  it('keeps the session across requests with an agent', async () => {
    const browser = agent(app);
    assert.deepEqual((await browser.get('/count')).json(), { count: 1 });
    assert.deepEqual((await browser.get('/count')).json(), { count: 2 });
    browser.clearCookies();
    assert.deepEqual((await browser.get('/count')).json(), { count: 1 });
    assertNoSockets(app);
  });

  it('refuses a body and a form together', async () => {
    await assert.rejects(inject(app, { method: 'POST', url: '/echo', body: '{}', form: { a: 'b' } }), /not both/);
  });
});

describe('agent cookie jar', () => {
  const app = createApp({
    logger: quiet,
    useSessions: false,
    routes: [
      {
        security: false,
        routes: [
          ['/set', () => json({}, { headers: { 'set-cookie': ['a=1; Path=/', 'scoped=2; Path=/admin', 'gone=3; Path=/'] } })],
          ['/unset', () => json({}, { headers: { 'set-cookie': ['gone=; Path=/; Max-Age=0', 'a=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT'] } })],
          ['/admin/seen', (ctx: Context) => json({ cookie: ctx.headers.cookie ?? null })],
          ['/administrator', (ctx: Context) => json({ cookie: ctx.headers.cookie ?? null })],
          ['/seen', (ctx: Context) => json({ cookie: ctx.headers.cookie ?? null })],
        ],
      },
    ],
  });
  after(() => app.close());

  it('sends a cookie only under its Path, and drops cookies whose Set-Cookie has expired', async () => {
    const browser = agent(app);
    await browser.get('/set');
    assert.deepEqual((await browser.get('/seen')).json(), { cookie: 'a=1; gone=3' });
    assert.deepEqual((await browser.get('/admin/seen')).json(), { cookie: 'scoped=2; a=1; gone=3' }, 'longest path first');
    assert.deepEqual((await browser.get('/administrator')).json(), { cookie: 'a=1; gone=3' }, '/admin does not match /administrator');
    await browser.get('/unset');
    assert.deepEqual(browser.cookies(), {});
    assert.deepEqual(browser.cookies('/admin'), { scoped: '2' });
  });
});

describe("inject on the example app (examples/login's buildApp)", () => {
  let app: App;
  before(async () => {
    const example = new URL('../../examples/login/app.js', import.meta.url).href;
    const { buildApp } = (await import(example)) as { buildApp: (env: NodeJS.ProcessEnv) => App };
    app = buildApp({ SESSION_SECRET: SECRET, LOGIN_RATE_LIMIT: '0' });
  });
  after(() => app.close());

  it('serves GET /login as HTML with the security headers and a session cookie', async () => {
    const res = await inject(app, { url: '/login' });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(res.body, /<form[^>]*method="post"/i);
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['content-security-policy'], "frame-ancestors 'none'");
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.ok(
      res.cookies.some((c) => c.name === 'session_id'),
      'every visitor has a session',
    );
    assertNoSockets(app);
  });

  it('logs in with a form post: 302 to / with a new session cookie', async () => {
    const res = await inject(app, { method: 'POST', url: '/login', form: { username: 'ada', password: 'password' } });
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, '/');
    const cookie = res.cookies.find((c) => c.name === 'session_id');
    assert.ok(cookie && cookie.value.length > 40, 'the rotated session cookie');
    const wrong = await inject(app, { method: 'POST', url: '/login', form: { username: 'ada', password: 'nope' } });
    assert.equal(wrong.status, 401);
  });

  it('follows a login across requests with an agent, and a logout empties the jar', async () => {
    const browser = agent(app);
    assert.equal((await browser.get('/')).status, 302, 'not logged in yet');
    const login = await browser.post('/login', { form: { username: 'ada', password: 'password' } });
    assert.equal(login.status, 302);
    const home = await browser.get('/');
    assert.equal(home.status, 200);
    assert.match(home.body, /Hello ada/);
    assert.deepEqual((await browser.get('/profile')).json(), { username: 'ada' });
    assert.ok(browser.cookies().session_id, 'the jar holds the session cookie');

    const logout = await browser.get('/logout');
    assert.equal(logout.status, 302);
    assert.equal(logout.headers.location, '/login');
    assert.equal(browser.cookies().session_id, undefined, "the logout's expiring Set-Cookie removed it");
    const after = await browser.get('/');
    assert.equal(after.status, 302, 'logged out');
    assert.equal(after.headers.location, '/login');
    assertNoSockets(app);
  });

  it('refuses a cross-site form post with 403', async () => {
    const res = await inject(app, {
      method: 'POST',
      url: '/login',
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', accept: 'application/json' },
      form: { username: 'ada', password: 'password' },
    });
    assert.equal(res.status, 403);
    assert.equal(res.headers.location, undefined, 'not logged in');
  });

  it('answers 404 for an unknown path', async () => {
    assert.equal((await inject(app, { url: '/no-such-page' })).status, 404);
  });
});
