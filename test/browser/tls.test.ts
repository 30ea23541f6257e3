// The example over TLS in a real browser: Chromium negotiates HTTP/2, logs in through the form and
// reaches the protected page with a Secure cookie.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { startChild, type Child } from '../helpers/child.js';
import { CHROMIUM, CHROMIUM_ARGS, MISSING, chromiumMissing } from '../helpers/chromium.js';
import { freePort } from '../helpers/outage.js';
import { makeDevCert, type DevCert } from '../helpers/tls.js';

// Evaluated in the page (the project has no DOM types): the protocol the page's own load used.
const NAVIGATION_PROTOCOL = "performance.getEntriesByType('navigation')[0].nextHopProtocol";
const main = fileURLToPath(new URL('../../examples/login/main.js', import.meta.url));
const missing = chromiumMissing();

if (missing && process.env.CI === 'true') {
  it('has Chromium at /usr/bin/chromium', () => assert.fail(MISSING));
}

describe('example login app over HTTPS in Chromium', { skip: missing ? MISSING : false, timeout: 60_000 }, () => {
  let cert: DevCert | undefined;
  let child: Child | undefined;
  let browser: Browser | undefined;
  let origin: string;

  before(async () => {
    if (missing) return;
    cert = makeDevCert();
    const port = await freePort();
    origin = `https://localhost:${port}`;
    child = await startChild(
      main,
      {
        PORT: String(port),
        TLS_KEY: cert.keyFile,
        TLS_CERT: cert.certFile,
        SESSION_SECRET: 'browser-tls-secret-0123456789abcdefghijklm',
        LOGIN_RATE_LIMIT: '0',
      },
      /listening on https:/,
      20_000,
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 15_000 });
  });

  after(async () => {
    await browser?.close();
    if (child !== undefined) {
      child.proc.kill('SIGTERM');
      assert.equal(await child.exited, 0, `example app did not exit cleanly; output:\n${child.output()}`);
    }
    cert?.remove();
  });

  it('loads /login over HTTP/2, logs in through the form and reaches the protected page', async () => {
    // The certificate is self-signed: the context accepts it, as a developer's browser would after a click.
    const context = await browser!.newContext({ ignoreHTTPSErrors: true });
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const response = await page.goto(`${origin}/login`);
    assert.equal(response?.status(), 200);
    const protocol = await page.evaluate(NAVIGATION_PROTOCOL);
    assert.equal(protocol, 'h2');

    await page.fill('#username', 'Ada');
    await page.fill('#password', 'password');
    const [posted] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/login'),
      page.click('button[type=submit]'),
    ]);
    assert.equal(posted.status(), 302);
    await page.waitForURL(`${origin}/`);
    assert.equal((await page.locator('h1').textContent())?.trim(), 'Hello Ada');
    const home = await page.evaluate(NAVIGATION_PROTOCOL);
    assert.equal(home, 'h2');

    const cookie = (await context.cookies(origin)).find((c) => c.name === 'session_id');
    assert.ok(cookie, 'no session cookie after login');
    assert.equal(cookie.secure, true);
    assert.equal(cookie.httpOnly, true);
    await context.close();
  });
});
