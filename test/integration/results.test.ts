import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { json, redirect, sendfile, status, view, type Context, type ControllerResult, type RouteGroup } from 'nova-ts';
import { serve, type Served } from '../helpers/serve.js';

const dir = mkdtempSync(join(tmpdir(), 'nova-results-'));
writeFileSync(join(dir, 'index.html'), '<h1>{{ message }}</h1>');
writeFileSync(join(dir, 'other.html'), '<p>other {{ n }}</p>');
writeFileSync(join(dir, 'file.txt'), '0123456789');

function routes(): RouteGroup[] {
  return [
    {
      routes: [
        [
          '/view',
          function index() {
            return view({ message: '<script>x</script>' });
          },
        ],
        ['/view-named', () => view({ n: 2 }, { view: 'other', status: 202, headers: { 'content-type': 'text/x-custom' } })],
        ['/json', () => json({ a: 1 })],
        ['/json-full', () => json({ b: 2 }, { status: 418, headers: { 'x-h': 'v', 'content-type': 'application/vnd.nova+json' } })],
        ['/status', () => status(204)],
        ['/status-headers', () => status(202, { headers: { 'x-h': 'v' } })],
        ['/status-body', () => status(400, { headers: { 'x-h': 'v' }, body: 'raw text' })],
        ['/status-map', () => status(409, { body: { conflict: true } })],
        ['/redirect', () => redirect('/elsewhere')],
        // A target built from request input, as apps do ("?next=…" after login).
        ['/redirect-next', (ctx: Context) => redirect(String(ctx.query.next))],
        ['/redirect-literal', () => ({ kind: 'redirect', location: '/caf\u00e9 au lait', status: 303 }) as ControllerResult],
        ['/sendfile', () => sendfile(join(dir, 'file.txt'), { mime: 'text/plain', status: 200, headers: { 'x-f': '1' } })],
        ['/sendfile-range', () => sendfile(join(dir, 'file.txt'), { offset: 2, length: 3, mime: 'text/plain', status: 206 })],
        ['/sendfile-missing', () => sendfile(join(dir, 'missing.txt'))],
        ['/sendfile-bad-offset', () => sendfile(join(dir, 'file.txt'), { offset: -5 })],
        ['/custom', () => ({ kind: 'text', text: 'resolved by fallback' }) as ControllerResult],
        ['/unknown', () => ({ kind: 'mystery' }) as ControllerResult],
        ['/nothing', (() => undefined) as unknown as () => ControllerResult],
        [
          '/throws',
          () => {
            throw new Error('secret <internal> detail');
          },
        ],
        [
          '/cookie-then-json',
          (ctx: Context) => {
            ctx.setCookie('a', 'b', { path: '/' });
            ctx.setHeader('x-set-early', 'yes');
            return json({});
          },
        ],
      ],
    },
  ];
}

const fallbackController = (_ctx: Context, result: ControllerResult) =>
  result.kind === 'text' ? status(200, { body: String((result as unknown as { text: unknown }).text) }) : undefined;

describe('controller results over a real socket', () => {
  let s: Served;
  before(async () => {
    s = await serve({ routes, views: { dir }, fallbackController });
  });
  after(() => s.close());
  const get = (path: string, init: RequestInit = {}) => fetch(`${s.url}${path}`, { redirect: 'manual', ...init });

  it('view: renders the template named after the controller, escaped', async () => {
    const res = await get('/view');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(await res.text(), '<h1>&lt;script&gt;x&lt;/script&gt;</h1>');
  });

  it('view: options view, status, and headers replacing the defaults', async () => {
    const res = await get('/view-named');
    assert.equal(res.status, 202);
    assert.equal(res.headers.get('content-type'), 'text/x-custom');
    assert.equal(await res.text(), '<p>other 2</p>');
  });

  it('json: simple (200 on GET) and with status and headers', async () => {
    const a = await get('/json');
    assert.equal(a.status, 200);
    assert.match(a.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await a.json(), { a: 1 });
    const b = await get('/json-full');
    assert.equal(b.status, 418);
    assert.equal(b.headers.get('x-h'), 'v');
    assert.equal(b.headers.get('content-type'), 'application/vnd.nova+json');
  });

  it('status: code, with headers, with a raw body, with a map body as JSON', async () => {
    const a = await get('/status');
    assert.equal(a.status, 204);
    const b = await get('/status-headers');
    assert.equal(b.status, 202);
    assert.equal(b.headers.get('x-h'), 'v');
    assert.equal(await b.text(), '');
    const c = await get('/status-body');
    assert.equal(c.status, 400);
    assert.equal(await c.text(), 'raw text');
    const d = await get('/status-map');
    assert.equal(d.status, 409);
    assert.deepEqual(await d.json(), { conflict: true });
  });

  it('redirect: 302 with location', async () => {
    const res = await get('/redirect');
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/elsewhere');
  });

  it('redirect: the target goes out percent-encoded, valid escapes kept, literals included', async () => {
    const res = await get(`/redirect-next?next=${encodeURIComponent('/caf\u00e9?q=a b&r=%41')}`);
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/caf%C3%A9?q=a%20b&r=%41');
    const lit = await get('/redirect-literal');
    assert.equal(lit.status, 303);
    assert.equal(lit.headers.get('location'), '/caf%C3%A9%20au%20lait');
  });

  it('redirect: a target with CR/LF is refused where redirect() is called, with the catalogue error, no header injected', async () => {
    s.logged.length = 0;
    const res = await get(`/redirect-next?next=${encodeURIComponent('/x\r\nSet-Cookie: pwned=1')}`, { headers: { accept: 'application/json' } });
    assert.equal(res.status, 500);
    assert.equal(res.headers.get('location'), null);
    assert.ok(!res.headers.getSetCookie().some((c) => c.startsWith('pwned')));
    const logged = s.logged.flat().find((e): e is Error & { code: string; stack: string } => e instanceof Error);
    assert.equal(logged?.code, 'NOVA_ERR_REDIRECT_TARGET');
    assert.match(logged.stack, /at redirect \(/, 'thrown by redirect() itself, not when the reply is written');
  });

  it('sendfile: whole file, a byte range, and a missing file as 500 without the path', async () => {
    const a = await get('/sendfile');
    assert.equal(a.headers.get('content-type'), 'text/plain');
    assert.equal(a.headers.get('x-f'), '1');
    assert.equal(await a.text(), '0123456789');
    const b = await get('/sendfile-range');
    assert.equal(b.status, 206);
    assert.equal(b.headers.get('content-length'), '3');
    assert.equal(await b.text(), '234');
    const c = await get('/sendfile-missing', { headers: { accept: 'application/json' } });
    assert.equal(c.status, 500);
    assert.doesNotMatch(await c.text(), /missing\.txt/);
    const d = await get('/sendfile-bad-offset', { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(3000) });
    assert.equal(d.status, 500, 'a bad offset is a 500 page, not a hung response');
    await d.text();
  });

  it('the fallback controller resolves results no handler knows', async () => {
    const res = await get('/custom');
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'resolved by fallback');
  });

  it('an unresolvable result or no result is a 500 page', async () => {
    for (const path of ['/unknown', '/nothing']) {
      const res = await get(path, { headers: { accept: 'text/html' } });
      assert.equal(res.status, 500, path);
      assert.match(await res.text(), /Internal server error/);
    }
  });

  it('a throwing controller gives a 500 page with no stack trace and nothing reflected', async () => {
    const res = await get('/throws', { headers: { accept: 'text/html' } });
    assert.equal(res.status, 500);
    const body = await res.text();
    assert.doesNotMatch(body, /secret|internal|at .*\.js/);
  });

  it('headers and cookies set on the context go out with the result', async () => {
    const res = await get('/cookie-then-json');
    assert.ok(res.headers.getSetCookie().includes('a=b; Path=/'));
    assert.equal(res.headers.get('x-set-early'), 'yes');
  });
});

describe('stack traces', () => {
  it('appear on error pages only when configured, escaped', async () => {
    const s = await serve({ routes, views: { dir }, useStacktrace: true });
    try {
      const res = await fetch(`${s.url}/throws`, { headers: { accept: 'text/html' } });
      assert.equal(res.status, 500);
      const body = await res.text();
      assert.match(body, /secret &lt;internal&gt; detail/);
      assert.match(body, /results\.test\.js/);
    } finally {
      await s.close();
    }
  });

  it('renderErrorPages: false answers errors with an empty body', async () => {
    const s = await serve({ routes, views: { dir }, renderErrorPages: false });
    try {
      const res = await fetch(`${s.url}/nope`);
      assert.equal(res.status, 404);
      assert.equal(await res.text(), '');
    } finally {
      await s.close();
    }
  });
});
