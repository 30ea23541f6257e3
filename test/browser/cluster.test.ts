// `npm run cluster` in a real browser: a login stays logged in whichever worker answers, including
// after the worker that served the login is killed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startChild } from '../helpers/child.js';
import { CHROMIUM, CHROMIUM_ARGS, MISSING, chromiumMissing } from '../helpers/chromium.js';
import { freePort } from '../helpers/outage.js';

const script = fileURLToPath(new URL('../../examples/login/cluster.js', import.meta.url));
const missing = chromiumMissing();

describe('npm run cluster in Chromium', { skip: missing && process.env.CI !== 'true' ? MISSING : false, timeout: 60_000 }, () => {
  it('keeps the browser logged in across workers', async () => {
    assert.ok(!missing, MISSING);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const app = await startChild(
      script,
      { PORT: String(port), CLUSTER_WORKERS: '3', SESSION_SECRET: 'browser-cluster-secret-0123456789abcdefgh', LOGIN_RATE_LIMIT: '0' },
      /(listening on[\s\S]*){3}/,
      20_000,
    );
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 15_000 });
    try {
      const context = await browser.newContext();
      context.setDefaultTimeout(5_000);
      const page = await context.newPage();
      await page.goto(`${url}/login`);
      await page.fill('#username', 'ada');
      await page.fill('#password', 'password');
      const [home] = await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === '/' && r.request().method() === 'GET'),
        page.click('button[type=submit]'),
      ]);
      assert.equal((await page.locator('h1').textContent())?.trim(), 'Hello ada');
      const loginWorker = (await home.allHeaders())['x-nova-worker'];

      // Fresh browser contexts with the same cookies open fresh connections, which the primary
      // hands to the workers in turn.
      const workers = new Set<string>([String(loginWorker)]);
      const state = await context.storageState();
      for (let i = 0; i < 6; i++) {
        const other = await browser.newContext({ storageState: state });
        const response = await (await other.newPage()).goto(`${url}/`);
        assert.equal(new URL(response!.url()).pathname, '/', `visit ${i} was sent to /login`);
        assert.match(await response!.text(), /Hello ada/);
        workers.add(String((await response!.allHeaders())['x-nova-worker']));
        await other.close();
      }
      assert.equal(workers.size, 3, `the visits were served by workers ${[...workers].join(', ')}`);

      // The worker that served the login dies; the browser's next request goes to another one.
      process.kill(Number(loginWorker), 'SIGKILL');
      await new Promise((r) => setTimeout(r, 200));
      const res = await page.reload();
      assert.equal(new URL(res!.url()).pathname, '/');
      assert.notEqual(res!.headers()['x-nova-worker'], loginWorker);
      assert.equal((await page.locator('h1').textContent())?.trim(), 'Hello ada', 'still logged in after its worker died');
    } finally {
      await browser.close();
      app.proc.kill('SIGTERM');
      await app.exited;
    }
  });
});
