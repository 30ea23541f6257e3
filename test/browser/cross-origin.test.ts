// Login CSRF in a real browser: a page on another origin auto-submits a login form to the example
// app (defaults, no configuration), which must refuse it so the victim's browser is not logged in
// as the attacker. The app's own form must still log in.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startChild, type Child } from '../helpers/child.js';
import { CHROMIUM, CHROMIUM_ARGS, MISSING, chromiumMissing } from '../helpers/chromium.js';
import { freePort } from '../helpers/outage.js';

const main = fileURLToPath(new URL('../../examples/login/main.js', import.meta.url));
const COOKIE = 'session_id';

const missing = chromiumMissing();
if (missing && process.env.CI === 'true') {
  it('has Chromium at /usr/bin/chromium', () => assert.fail(MISSING));
}

describe('example app refuses a cross-origin login form in Chromium', { skip: missing ? MISSING : false, timeout: 30_000 }, () => {
  let child: Child | undefined;
  let attacker: Server | undefined;
  let attackerPort: number;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let url: string;

  /** Who the browser's session cookie for the app is logged in as: the username, or the status. */
  async function browserIsLoggedInAs(): Promise<string | number> {
    const cookie = (await context.cookies(url)).find((c) => c.name === COOKIE);
    if (cookie === undefined) return 'no cookie';
    const res = await fetch(`${url}/profile`, { headers: { cookie: `${COOKIE}=${cookie.value}`, accept: 'application/json' } });
    return res.status === 200 ? ((await res.json()) as { username: string }).username : res.status;
  }

  /** Open the attacker's page at `origin`; resolves with the status of the login post it makes. */
  async function attackFrom(origin: string): Promise<number> {
    const [answer] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${url}/login`), page.goto(`${origin}/`)]);
    const site = await answer.request().headerValue('sec-fetch-site');
    assert.ok(site === 'cross-site' || site === 'same-site', `the browser sent Sec-Fetch-Site: ${site}`);
    await page.waitForLoadState();
    return answer.status();
  }

  before(async () => {
    if (missing) return;
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = await startChild(main, { PORT: String(port), SESSION_SECRET: 'cross-origin-browser-secret-0123456789abc' }, /listening on/);
    // The attacker's page: a login form for the attacker's account, posted as soon as it loads.
    attacker = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(
        `<form id="f" method="post" action="${url}/login"><input name="username" value="attacker"><input name="password" value="password"></form>` +
          '<script>document.getElementById("f").submit()</script>',
      );
    });
    attackerPort = await freePort();
    await new Promise<void>((resolve) => attacker!.listen(attackerPort, '127.0.0.1', resolve));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 15_000 });
    context = await browser.newContext();
    context.setDefaultTimeout(5_000);
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (attacker === undefined ? resolve() : attacker.close(() => resolve())));
    if (child !== undefined) {
      child.proc.kill('SIGTERM');
      assert.equal(await child.exited, 0, `example app did not exit cleanly; output:\n${child.output()}`);
    }
  });

  it('refuses a form auto-submitted from another site (localhost vs 127.0.0.1), and the browser is not logged in', async () => {
    await page.goto(`${url}/login`); // the victim has visited the app before
    assert.equal(await attackFrom(`http://localhost:${attackerPort}`), 403);
    assert.notEqual(await browserIsLoggedInAs(), 'attacker');
    assert.equal(await browserIsLoggedInAs(), 401);
    await page.goto(`${url}/`);
    assert.equal(new URL(page.url()).pathname, '/login', 'the app still sends the browser to its login page');
  });

  it('refuses a form auto-submitted from another port of the same host (same site, other origin)', async () => {
    assert.equal(await attackFrom(`http://127.0.0.1:${attackerPort}`), 403);
    assert.equal(await browserIsLoggedInAs(), 401);
  });

  it("logs in through the app's own form", async () => {
    await page.goto(`${url}/login`);
    await page.fill('#username', 'ada');
    await page.fill('#password', 'password');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${url}/login`),
      page.click('button[type=submit]'),
    ]);
    assert.equal(await response.request().headerValue('sec-fetch-site'), 'same-origin');
    assert.equal(response.status(), 302);
    await page.waitForURL(`${url}/`);
    assert.equal((await page.locator('h1').textContent())?.trim(), 'Hello ada');
    assert.equal(await browserIsLoggedInAs(), 'ada');
  });
});
