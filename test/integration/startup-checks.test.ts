import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { csrf, csrfToken, json, NovaError, requestPlugin, view, type Context, type RouteGroup } from 'nova-ts';
import { cookiePair } from '../helpers/cookies.js';
import { serve } from '../helpers/serve.js';

const SECRET = 'a-test-secret-that-is-long-enough-1234';
const dir = mkdtempSync(join(tmpdir(), 'nova-startup-checks-'));
writeFileSync(join(dir, 'transfer.html'), '<form method="post"><input type="hidden" name="_csrf" value="{{ csrf }}"></form>');

const send = () => json({ sent: true });

describe('plugin order: csrf() before requestPlugin()', () => {
  it('warns once at start-up, naming both plugins and the fix, and the refusal names the order', async () => {
    const routes = (): RouteGroup[] => [
      {
        routes: [
          ['/form', (ctx: Context) => json({ token: csrfToken(ctx) }), { methods: ['get'] }],
          ['/form', send, { methods: ['post'] }],
        ],
      },
      { prefix: '/other', routes: [['/x', send, { methods: ['post'] }]] },
    ];
    const s = await serve({ plugins: [csrf(), requestPlugin()], routes, session: { secrets: [SECRET] } });
    try {
      const warnings = s.logged.map((a) => String(a[0])).filter((m) => m.includes('runs before plugin'));
      assert.equal(warnings.length, 1, 'one warning however many groups');
      assert.match(warnings[0]!, /"csrf" runs before plugin "request".*_csrf form field.*requestPlugin\(\), csrf\(\)/);

      const got = await fetch(`${s.url}/form`);
      const cookie = cookiePair(got);
      const { token } = (await got.json()) as { token: string };
      const res = await fetch(`${s.url}/form`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: `_csrf=${token}`,
      });
      assert.equal(res.status, 403);
      assert.match(await res.text(), /put requestPlugin\(\) before csrf\(\)/);
    } finally {
      await s.close();
    }
  });

  it('says nothing about the right order', async () => {
    const s = await serve({ plugins: [requestPlugin(), csrf()], routes: [{ routes: [['/x', send, { methods: ['post'] }]] }] });
    try {
      assert.deepEqual(
        s.logged.filter((a) => String(a[0]).includes('runs before plugin')),
        [],
      );
    } finally {
      await s.close();
    }
  });
});

describe("docs/framework.md's csrf snippet", () => {
  it('renders the form as written', async () => {
    const s = await serve({
      views: { dir },
      session: { secrets: [SECRET] },
      plugins: [requestPlugin(), csrf()],
      routes: () => [
        {
          routes: [
            ['/transfer', (ctx: Context) => view({ csrf: csrfToken(ctx) }, { view: 'transfer' }), { methods: ['get'] }],
            ['/transfer', send, { methods: ['post'] }],
          ],
        },
      ],
    });
    try {
      const page = await fetch(`${s.url}/transfer`);
      assert.equal(page.status, 200);
      const token = /value="([^"]+)"/.exec(await page.text())?.[1];
      assert.ok(token);
      const posted = await fetch(`${s.url}/transfer`, {
        method: 'POST',
        headers: { cookie: cookiePair(page), 'content-type': 'application/x-www-form-urlencoded' },
        body: `_csrf=${encodeURIComponent(token)}`,
      });
      assert.equal(posted.status, 201);
    } finally {
      await s.close();
    }
  });

  it('an inline arrow returning an unnamed view is told to name the view', async () => {
    const s = await serve({ views: { dir }, routes: [{ routes: [['/transfer', () => view({}), { methods: ['get'] }]] }] });
    try {
      const res = await fetch(`${s.url}/transfer`);
      assert.equal(res.status, 500);
      const error = s.logged.flat().find((e) => e instanceof NovaError) as NovaError | undefined;
      assert.equal(error?.code, 'NOVA_ERR_VIEW_UNNAMED');
      assert.match(error.message, /view\(data, \{ view: 'name' \}\)/);
    } finally {
      await s.close();
    }
  });
});
