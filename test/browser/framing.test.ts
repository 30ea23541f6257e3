// The example's login page framed by a page of another origin, in Chromium: the security headers
// (X-Frame-Options: DENY, frame-ancestors 'none') must leave the frame without the form.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { startChild, type Child } from '../helpers/child.js';
import { CHROMIUM, CHROMIUM_ARGS, MISSING, chromiumMissing } from '../helpers/chromium.js';
import { freePort } from '../helpers/outage.js';

const main = fileURLToPath(new URL('../../examples/login/main.js', import.meta.url));
const missing = chromiumMissing();

if (missing && process.env.CI === 'true') {
  it('has Chromium at /usr/bin/chromium', () => assert.fail(MISSING));
}

describe('framing the example login page from another origin', { skip: missing ? MISSING : false, timeout: 30_000 }, () => {
  let child: Child | undefined;
  let browser: Browser | undefined;
  let framer: Server | undefined;
  let app: string;
  let attacker: string;

  before(async () => {
    if (missing) return;
    const port = await freePort();
    app = `http://127.0.0.1:${port}`;
    child = await startChild(main, { PORT: String(port), SESSION_SECRET: 'framing-test-secret-0123456789abcdefghijkl', LOGIN_RATE_LIMIT: '0' }, /listening on/);
    // Another origin (localhost, not 127.0.0.1) framing the login page, and, as a control that
    // frames load at all, a response of the app that is not a page.
    framer = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(`<!doctype html><iframe name="login" src="${app}/login"></iframe><iframe name="control" src="${app}/heartbeat"></iframe>`);
    });
    await new Promise<void>((resolve) => framer!.listen(0, '127.0.0.1', resolve));
    attacker = `http://localhost:${(framer.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 15_000 });
  });

  after(async () => {
    await browser?.close();
    framer?.close();
    child?.proc.kill('SIGTERM');
    if (child) await child.exited;
  });

  it('leaves the frame without the login form', async () => {
    const page = await browser!.newPage();
    try {
      await page.goto(`${attacker}/`, { waitUntil: 'load' });
      const control = page.frame({ name: 'control' });
      assert.equal(control?.url(), `${app}/heartbeat`, 'a response that is no page is framed');
      const login = page.frame({ name: 'login' });
      assert.ok(login, 'the login frame exists');
      assert.notEqual(login.url(), `${app}/login`, `the login page was framed (frame at ${login.url()})`);
      assert.equal(await login.$('#username'), null, 'no login form in the frame');
      // The page itself still works when visited directly.
      await page.goto(`${app}/login`);
      assert.ok(await page.$('#username'));
    } finally {
      await page.close();
    }
  });
});
