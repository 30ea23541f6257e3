import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { allow, deny, json, redirect, status, view, type Context, type RouteGroup, type SecurityFunction } from 'nova-ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type Served } from '../helpers/serve.js';

const whoami = (ctx: Context) => json({ authData: ctx.authData ?? null });

const cases: Record<string, SecurityFunction> = {
  true: () => true,
  false: () => false,
  other: () => 'yes please',
  allowData: async () => allow({ authed: true, username: 'ada' }),
  denyHeaders: () => deny({ headers: { 'www-authenticate': 'Basic realm="nova"' } }),
  denyStatus: () => deny({ status: 403, headers: { 'x-why': 'role' } }),
  denyBody: () => deny({ status: 401, headers: { 'x-a': '1' }, body: { error: 'unauthorized' } }),
  denyPage: () => deny({ result: view({ reason: '<b>nope</b>' }, { view: 'denied', status: 403 }) }),
  redirectString: () => redirect('/login'),
  redirectUrl: () => redirect(new URL('https://example.com/sso?next=%2F')),
  throws: () => {
    throw new Error('db exploded');
  },
  rejects: async () => Promise.reject(new Error('async boom')),
};

function routes(): RouteGroup[] {
  return Object.entries(cases).map(([name, security]) => ({ prefix: `/${name}`, security, routes: [['/', whoami, { methods: ['get'] }]] }));
}

describe('security functions', () => {
  let s: Served;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nova-views-'));
    writeFileSync(join(dir, 'denied.html'), '<p>Denied: {{ reason }}</p>');
    s = await serve({ routes, views: { dir } });
  });
  after(() => s.close());
  const get = (path: string) => fetch(`${s.url}${path}`, { redirect: 'manual', headers: { accept: 'application/json' } });

  it('true allows', async () => {
    const res = await get('/true');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { authData: null });
  });

  it('allow(data) passes authData to the controller', async () => {
    assert.deepEqual(await (await get('/allowData')).json(), { authData: { authed: true, username: 'ada' } });
  });

  it('false and any other value deny with an empty 401', async () => {
    for (const path of ['/false', '/other']) {
      const res = await get(path);
      assert.equal(res.status, 401, path);
      assert.equal(await res.text(), '', path);
    }
  });

  it('deny with headers, with a status, with a body', async () => {
    const h = await get('/denyHeaders');
    assert.equal(h.status, 401);
    assert.equal(h.headers.get('www-authenticate'), 'Basic realm="nova"');
    const st = await get('/denyStatus');
    assert.equal(st.status, 403);
    assert.equal(st.headers.get('x-why'), 'role');
    const b = await get('/denyBody');
    assert.equal(b.status, 401);
    assert.equal(b.headers.get('x-a'), '1');
    assert.deepEqual(await b.json(), { error: 'unauthorized' });
  });

  it('a denial can render a page, escaped', async () => {
    const res = await get('/denyPage');
    assert.equal(res.status, 403);
    assert.equal(await res.text(), '<p>Denied: &lt;b&gt;nope&lt;/b&gt;</p>');
  });

  it('redirect answers 302 to a string or a URL', async () => {
    const a = await get('/redirectString');
    assert.equal(a.status, 302);
    assert.equal(a.headers.get('location'), '/login');
    const b = await get('/redirectUrl');
    assert.equal(b.status, 302);
    assert.equal(b.headers.get('location'), 'https://example.com/sso?next=%2F');
  });

  it('a throwing or rejecting security function gives 500, never a pass, and no internals', async () => {
    for (const path of ['/throws', '/rejects']) {
      const res = await get(path);
      assert.equal(res.status, 500, path);
      const body = await res.text();
      assert.doesNotMatch(body, /authData/);
      assert.doesNotMatch(body, /exploded|boom/);
    }
    assert.ok(s.logged.some((line) => String(line[0]).includes('/throws')));
  });
});

describe('registered status pages render bare denials (Nova #307/#308)', () => {
  it("uses the 401 page for a bare denial, keeping the denial's headers", async () => {
    const s = await serve({
      routes: [
        { routes: [[401, () => status(401, { body: 'please log in' })]] },
        { prefix: '/p', security: () => false, routes: [['/', whoami]] },
        { prefix: '/h', security: () => deny({ headers: { 'www-authenticate': 'Bearer' } }), routes: [['/', whoami]] },
      ],
    });
    try {
      const res = await fetch(`${s.url}/p`);
      assert.equal(res.status, 401);
      assert.equal(await res.text(), 'please log in');
      const h = await fetch(`${s.url}/h`);
      assert.equal(h.status, 401);
      assert.equal(h.headers.get('www-authenticate'), 'Bearer');
      assert.equal(await h.text(), 'please log in');
    } finally {
      await s.close();
    }
  });
});
