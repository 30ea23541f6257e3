// The example login app driven by a real browser: Debian's Chromium through playwright-core.
// Never a downloaded browser build: .ci/run installs the Debian package when it is missing.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Cookie, type Page } from 'playwright-core';
import { startChild, type Child } from '../helpers/child.js';
import { CHROMIUM, CHROMIUM_ARGS, MISSING, chromiumMissing } from '../helpers/chromium.js';

const main = fileURLToPath(new URL('../../examples/login/main.js', import.meta.url));
const SCREENSHOT = join(tmpdir(), 'nova-login.png');
const USERNAME = 'Ada <b>';
const COOKIE = 'session_id';

const missing = chromiumMissing();

/** A port that was free a moment ago (the OS picks it; the child binds it right after). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

// In CI a missing browser is a broken machine, not a reason to skip.
if (missing && process.env.CI === 'true') {
  it('has Chromium at /usr/bin/chromium', () => assert.fail(MISSING));
}

describe('example login app in Chromium', { skip: missing ? MISSING : false, timeout: 30_000 }, () => {
  let child: Child | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let url: string;
  /** The session cookie after the first login; later steps check it was retired. */
  let loggedIn: Cookie;

  const sessionCookie = async (): Promise<Cookie | undefined> => (await context.cookies(url)).find((c) => c.name === COOKIE);
  const path = (): string => new URL(page.url()).pathname;
  /** GET /profile from Node with just this cookie value: 200 with the username if the server still knows the session. */
  const profileWith = (value: string) => fetch(`${url}/profile`, { headers: { cookie: `${COOKIE}=${value}` } });

  /** Fill the form on /login and submit it by clicking the button; resolves with the POST's response. */
  async function submitLogin(username: string, password: string) {
    await page.goto(`${url}/login`);
    await page.fill('#username', username);
    await page.fill('#password', password);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/login'),
      page.click('button[type=submit]'),
    ]);
    return response;
  }

  before(async () => {
    if (missing) return;
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = await startChild(main, { PORT: String(port), SESSION_SECRET: 'browser-test-secret-0123456789abcdefghijkl', LOGIN_RATE_LIMIT: '0' }, /listening on/);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 15_000 });
    context = await browser.newContext(); // playwright gives launch() its own fresh, temporary profile
    context.setDefaultTimeout(5_000);
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close();
    if (child !== undefined) {
      child.proc.kill('SIGTERM');
      assert.equal(await child.exited, 0, `example app did not exit cleanly; output:\n${child.output()}`);
    }
  });

  it('rejects a wrong password on the login page, without logging in', async () => {
    const response = await submitLogin(USERNAME, 'not-the-password');
    assert.equal(response.status(), 401);
    await page.waitForLoadState();
    assert.equal(path(), '/login');
    assert.equal((await page.locator('p.error').textContent())?.trim(), 'Invalid username or password');
    assert.doesNotMatch(await page.locator('body').innerText(), /Hello/);
    // Visitors get an (empty) session cookie on their first response; it must not be logged in.
    const cookie = await sessionCookie();
    if (cookie !== undefined) assert.equal((await profileWith(cookie.value)).status, 401, 'a failed login logged the session in');
  });

  it('logs in through the form and greets the user, escaped', async () => {
    const anonymous = await sessionCookie(); // the anonymous visitor's cookie from the earlier pages
    assert.ok(anonymous, 'expected the login page to have given the visitor a session cookie');
    const response = await submitLogin(USERNAME, 'password');
    await page.waitForURL(`${url}/`);
    assert.equal(response.status(), 302);

    // HTML escaping: the name shows literally and no <b> element was made from it.
    assert.equal((await page.locator('h1').textContent())?.trim(), `Hello ${USERNAME}`);
    assert.ok((await page.locator('body').innerText()).includes(`Hello ${USERNAME}`));
    assert.equal(await page.locator('b').count(), 0);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // The cookie as the server sent it and as the browser stored it.
    const setCookie = (await response.headersArray()).filter((h) => h.name.toLowerCase() === 'set-cookie').map((h) => h.value);
    const line = setCookie.find((v) => v.startsWith(`${COOKIE}=`));
    assert.ok(line, `login response set no ${COOKIE} cookie: ${JSON.stringify(setCookie)}`);
    assert.match(line, /;\s*HttpOnly/i);
    assert.match(line, /;\s*SameSite=Lax/i);
    const cookie = await sessionCookie();
    assert.ok(cookie, 'no session cookie in the browser after login');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    assert.equal(cookie.path, '/');
    assert.equal(cookie.secure, false); // plain http on 127.0.0.1
    assert.notEqual(cookie.value, anonymous.value, 'the session id must change at login (session fixation)');
    loggedIn = cookie;
  });

  it('is still logged in after a reload', async () => {
    await page.reload();
    assert.equal(path(), '/');
    assert.equal((await page.locator('h1').textContent())?.trim(), `Hello ${USERNAME}`);
    assert.equal((await sessionCookie())?.value, loggedIn.value);
  });

  it('keeps the session cookie away from document.cookie', async () => {
    const visible = await page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie);
    assert.equal(visible.includes(COOKIE), false, `document.cookie = ${JSON.stringify(visible)}`);
  });

  it('gives a new session id when logging in again, and the old one stops working', async () => {
    assert.equal((await profileWith(loggedIn.value)).status, 200);
    await submitLogin(USERNAME, 'password');
    await page.waitForURL(`${url}/`);
    const renewed = await sessionCookie();
    assert.ok(renewed);
    assert.notEqual(renewed.value, loggedIn.value, 'logging in over a live session must rotate its id');
    assert.equal((await profileWith(loggedIn.value)).status, 401, 'the pre-login id still works on the server');
    const profile = await profileWith(renewed.value);
    assert.equal(profile.status, 200);
    assert.deepEqual(await profile.json(), { username: USERNAME });
    loggedIn = renewed;
  });

  it('logs out to /login, and / then sends the browser to /login', async () => {
    await page.goto(`${url}/logout`);
    assert.equal(path(), '/login');
    const left = await sessionCookie();
    assert.ok(
      left === undefined || left.value !== loggedIn.value || (left.expires !== -1 && left.expires * 1000 < Date.now()),
      `the old session cookie is still in the jar: ${JSON.stringify(left)}`,
    );
    assert.equal((await profileWith(loggedIn.value)).status, 401, 'the logged-out session still works on the server');

    await page.goto(`${url}/`);
    assert.equal(path(), '/login');
    assert.doesNotMatch(await page.locator('body').innerText(), /Hello/);
  });
});
