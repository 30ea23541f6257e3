// Static routes over real HTTP framing (the test client runs Node's own HTTP server and client):
// caching and revalidation, ranges, index files, types, HEAD, methods, the session exception,
// and the start-up checks.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { createApp, json, NovaError, session, staticFile, staticFiles, status, type Context } from 'nova-ts';
import { inject } from 'nova-ts/testing';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const SECRET = 'static-test-secret-0123456789-abcdefghijklmnop';
const CSS = 'body { color: rebeccapurple; }\n';

function site(): string {
  const root = mkdtempSync(join(tmpdir(), 'nova-static-'));
  mkdirSync(join(root, 'public', 'docs'), { recursive: true });
  writeFileSync(join(root, 'public', 'app.css'), CSS);
  writeFileSync(join(root, 'public', 'index.html'), '<h1>home</h1>');
  writeFileSync(join(root, 'public', 'docs', 'index.html'), '<h1>docs</h1>');
  writeFileSync(join(root, 'public', 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  writeFileSync(join(root, 'public', 'data.json'), '{"a":1}');
  writeFileSync(join(root, 'public', 'digits.txt'), '0123456789');
  writeFileSync(join(root, 'favicon.ico'), Buffer.from([0, 0, 1, 0]));
  return root;
}

describe('static routes', () => {
  const root = site();
  const app = createApp({
    logger: quiet,
    session: { secrets: [SECRET] },
    routes: [
      {
        routes: [
          ['/assets/[...]', staticFiles(pathToFileURL(join(root, 'public')))],
          ['/long/[...]', staticFiles(join(root, 'public'), { maxAge: 31536000, immutable: true })],
          ['/noindex/[...]', staticFiles(join(root, 'public'), { index: false })],
          ['/favicon.ico', staticFile(join(root, 'favicon.ico'))],
          ['/visit', async (ctx: Context) => json({ seen: (await session.get(ctx, 'seen' as never)) ?? null }), { methods: ['get'] }],
          [404, () => status(404, { body: 'custom not found' })],
        ],
      },
    ],
  });
  after(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves a file with its type, length, ETag, Last-Modified and a public Cache-Control', async () => {
    const res = await inject(app, { url: '/assets/app.css' });
    assert.equal(res.status, 200);
    assert.equal(res.body, CSS);
    assert.equal(res.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal(res.headers['content-length'], String(Buffer.byteLength(CSS)));
    assert.match(String(res.headers.etag), /^W\/".+"$/);
    assert.equal(res.headers['last-modified'], statSync(join(root, 'public', 'app.css')).mtime.toUTCString());
    assert.equal(res.headers['cache-control'], 'public, max-age=0');
    assert.equal(res.headers['accept-ranges'], 'bytes');
  });

  it('gives text a UTF-8 charset and binary files none', async () => {
    assert.equal((await inject(app, { url: '/assets/data.json' })).headers['content-type'], 'application/json; charset=utf-8');
    assert.equal((await inject(app, { url: '/assets/digits.txt' })).headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal((await inject(app, { url: '/assets/logo.png' })).headers['content-type'], 'image/png');
    assert.equal((await inject(app, { url: '/assets/docs/index.html' })).headers['content-type'], 'text/html; charset=utf-8');
  });

  it('answers a revalidation with 304 and no body, by ETag and by date', async () => {
    const first = await inject(app, { url: '/assets/app.css' });
    const byTag = await inject(app, { url: '/assets/app.css', headers: { 'if-none-match': String(first.headers.etag) } });
    assert.equal(byTag.status, 304);
    assert.equal(byTag.body, '');
    assert.equal(byTag.headers.etag, first.headers.etag);
    const byDate = await inject(app, { url: '/assets/app.css', headers: { 'if-modified-since': String(first.headers['last-modified']) } });
    assert.equal(byDate.status, 304);
    const stale = await inject(app, { url: '/assets/app.css', headers: { 'if-none-match': 'W/"not-it"' } });
    assert.equal(stale.status, 200, 'another ETag gets the file');
    assert.equal(stale.body, CSS);
  });

  it('serves byte ranges with 206 and refuses unsatisfiable ones with 416', async () => {
    const part = await inject(app, { url: '/assets/digits.txt', headers: { range: 'bytes=2-5' } });
    assert.equal(part.status, 206);
    assert.equal(part.body, '2345');
    assert.equal(part.headers['content-range'], 'bytes 2-5/10');
    const tail = await inject(app, { url: '/assets/digits.txt', headers: { range: 'bytes=-3' } });
    assert.equal(tail.status, 206);
    assert.equal(tail.body, '789');
    const beyond = await inject(app, { url: '/assets/digits.txt', headers: { range: 'bytes=50-60' } });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers['content-range'], 'bytes */10');
    assert.equal(beyond.body, '');
    assert.equal(beyond.headers['x-content-type-options'], 'nosniff', 'the 416 keeps the security headers');
  });

  it('serves index.html for a directory, the root included, and a 404 without one when index is false', async () => {
    assert.equal((await inject(app, { url: '/assets/docs' })).body, '<h1>docs</h1>');
    assert.equal((await inject(app, { url: '/assets/docs/' })).body, '<h1>docs</h1>');
    assert.equal((await inject(app, { url: '/assets/' })).body, '<h1>home</h1>');
    assert.equal((await inject(app, { url: '/assets' })).body, '<h1>home</h1>');
    const none = await inject(app, { url: '/noindex/docs' });
    assert.equal(none.status, 404);
    assert.equal(none.body, 'custom not found', "the app's 404 page answers");
    assert.equal((await inject(app, { url: '/noindex/app.css' })).body, CSS);
  });

  it("answers a missing file with the app's 404 page", async () => {
    const res = await inject(app, { url: '/assets/nope.css' });
    assert.equal(res.status, 404);
    assert.equal(res.body, 'custom not found');
  });

  it('takes maxAge in seconds and immutable', async () => {
    const res = await inject(app, { url: '/long/app.css' });
    assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
  });

  it('answers HEAD with the headers and no body', async () => {
    const res = await inject(app, { method: 'HEAD', url: '/assets/app.css' });
    assert.equal(res.status, 200);
    assert.equal(res.body, '');
    assert.equal(res.headers['content-length'], String(Buffer.byteLength(CSS)));
    assert.equal(res.headers['content-type'], 'text/css; charset=utf-8');
    assert.ok(res.headers.etag);
  });

  it('serves one file with staticFile', async () => {
    const res = await inject(app, { url: '/favicon.ico' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.rawBody, Buffer.from([0, 0, 1, 0]));
    assert.equal(res.headers['content-type'], 'image/vnd.microsoft.icon');
  });

  it('answers only GET and HEAD unless the route lists methods: others get 405 with Allow', async () => {
    for (const url of ['/assets/app.css', '/favicon.ico']) {
      const res = await inject(app, { method: 'POST', url, body: 'x' });
      assert.equal(res.status, 405, url);
      assert.equal(res.headers.allow, 'GET, HEAD', url);
    }
    assert.equal((await inject(app, { method: 'DELETE', url: '/assets/app.css' })).status, 405);
  });

  it('skips the session step: no Set-Cookie for a fresh visitor, nothing private, security headers kept', async () => {
    const page = await inject(app, { url: '/visit' });
    assert.equal(page.cookies.length, 1, 'a dynamic route sets the session cookie for a fresh visitor');
    for (const url of ['/assets/app.css', '/favicon.ico', '/assets/nope.css']) {
      const res = await inject(app, { url });
      assert.equal(res.headers['set-cookie'], undefined, url);
      assert.equal(res.headers.vary, undefined, url);
      assert.doesNotMatch(String(res.headers['cache-control']), /private|no-store/, url);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
    }
    // A visitor who has a session cookie keeps it untouched: nothing is read, nothing sent back.
    const cookie = page.cookies[0]!;
    const withCookie = await inject(app, { url: '/assets/app.css', cookies: { [cookie.name]: cookie.value } });
    assert.equal(withCookie.headers['set-cookie'], undefined);
    assert.equal(withCookie.headers['cache-control'], 'public, max-age=0');
  });

  it('shows in the route table under its root', () => {
    const rows = app.router.table();
    assert.deepEqual(
      rows.filter(([, path]) => path.startsWith('/assets')),
      [
        ['GET', '/assets/*', `static:${join(root, 'public')}`],
        ['HEAD', '/assets/*', `static:${join(root, 'public')}`],
        ['GET', '/assets', `static:${join(root, 'public')}`],
        ['HEAD', '/assets', `static:${join(root, 'public')}`],
      ],
    );
    assert.ok(rows.some(([m, path, name]) => m === 'GET' && path === '/favicon.ico' && name === `static:${join(root, 'favicon.ico')}`));
  });
});

describe('static routes at start-up', () => {
  const root = site();
  after(() => rmSync(root, { recursive: true, force: true }));
  const start = (routes: Parameters<typeof createApp>[0]['routes']) => () => createApp({ logger: quiet, useSessions: false, routes });
  const refused = (pattern: RegExp) => (err: unknown) => err instanceof NovaError && err.code === 'NOVA_ERR_STATIC' && pattern.test(err.message);

  it('refuses a root that does not exist, naming it', () => {
    const missing = join(root, 'nowhere');
    assert.throws(start([{ routes: [['/assets/[...]', staticFiles(missing)]] }]), refused(new RegExp(`${missing}.*does not exist`)));
    assert.throws(start([{ routes: [['/f.ico', staticFile(join(root, 'missing.ico'))]] }]), refused(/does not exist/));
  });

  it('refuses a directory where a file is expected and the other way round', () => {
    assert.throws(start([{ routes: [['/assets/[...]', staticFiles(join(root, 'favicon.ico'))]] }]), refused(/not a directory/));
    assert.throws(start([{ routes: [['/f', staticFile(join(root, 'public'))]] }]), refused(/not a file/));
  });

  it('refuses staticFiles on a path without the [...] wildcard', () => {
    assert.throws(start([{ routes: [['/assets', staticFiles(join(root, 'public'))]] }]), refused(/must end in "\/\[\.\.\.\]"/));
  });

  it('refuses unknown options and maxAge that is not seconds', () => {
    const dir = join(root, 'public');
    assert.throws(() => staticFiles(dir, { maxage: 10 } as never), refused(/unknown option "maxage"/));
    assert.throws(() => staticFiles(dir, { maxAge: 86_400_000 * 365 }), refused(/seconds.*milliseconds by mistake/));
    assert.throws(() => staticFiles(dir, { maxAge: -1 }), refused(/whole number of seconds/));
    assert.throws(() => staticFiles(dir, { dotfiles: 'deny' as never }), refused(/dotfiles/));
    assert.throws(() => staticFiles(dir, { index: '../x.html' }), refused(/index/));
    assert.throws(() => staticFiles(new URL('https://example.com/x')), refused(/file: URL/));
  });

  it('lets a route list its own methods', async () => {
    const app = createApp({
      logger: quiet,
      useSessions: false,
      routes: [{ routes: [['/assets/[...]', staticFiles(join(root, 'public')), { methods: ['get'] }]] }],
    });
    assert.deepEqual(
      app.router.table().map(([m]) => m),
      ['GET', 'HEAD', 'GET', 'HEAD'],
      'GET brings HEAD as for every route',
    );
    await app.close();
  });
});
