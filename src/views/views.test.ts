import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NovaError } from '../errors.js';
import { createViewEngine } from './views.js';

/** A fresh views directory `<tmp>/views` with the given files, plus a `<tmp>/secret.html` outside it. */
async function fixture(t: TestContext, files: Record<string, string>): Promise<{ root: string; dir: string }> {
  const root = await mkdtemp(join(tmpdir(), 'nova-views-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'views');
  await mkdir(dir);
  await writeFile(join(root, 'secret.html'), 'TOP SECRET');
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return { root, dir };
}

function hasCode(code: string) {
  return (err: unknown) => err instanceof NovaError && err.code === code;
}

test('renders variables and HTML-escapes every output by default', async (t) => {
  const fx = await fixture(t, { 'hello.html': '<p title="{{ title }}">Hello {{ name }}</p>' });
  const views = createViewEngine({ dir: fx.dir });
  const html = await views.render('hello', { name: '<script>alert("x")</script>', title: `"a" & 'b'` });
  assert.equal(html, '<p title="&#34;a&#34; &amp; &#39;b&#39;">Hello &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</p>');
});

test('the raw filter outputs trusted markup unescaped', async (t) => {
  const fx = await fixture(t, { 'raw.html': '{{ markup | raw }}|{{ markup }}' });
  const views = createViewEngine({ dir: fx.dir });
  assert.equal(await views.render('raw', { markup: '<b>hi</b>' }), '<b>hi</b>|&lt;b&gt;hi&lt;/b&gt;');
});

test('unknown filters are an error, not silently ignored', async (t) => {
  const fx = await fixture(t, { 'typo.html': '{{ name | upcasee }}' });
  const views = createViewEngine({ dir: fx.dir });
  await assert.rejects(views.render('typo', { name: 'ada' }), /upcasee/);
});

test('a view name with or without the extension renders the same file', async (t) => {
  const fx = await fixture(t, { 'index.html': 'home' });
  const views = createViewEngine({ dir: fx.dir });
  assert.equal(await views.render('index', {}), 'home');
  assert.equal(await views.render('index.html', {}), 'home');
});

test('a custom extension is used for views and includes', async (t) => {
  const fx = await fixture(t, { 'page.dtl': '[{% include "part" %}]', 'part.dtl': 'partial', 'page.html': 'wrong' });
  const views = createViewEngine({ dir: fx.dir, extension: '.dtl' });
  assert.equal(await views.render('page', {}), '[partial]');
});

test('templates are parsed once and cached: editing the file does not change the output', async (t) => {
  const fx = await fixture(t, { 'cached.html': 'v1 {{ n }}', 'inc.html': 'inc1', 'outer.html': '{% include "inc" %}' });
  const views = createViewEngine({ dir: fx.dir });
  assert.equal(await views.render('cached', { n: 1 }), 'v1 1');
  assert.equal(await views.render('outer', {}), 'inc1');
  await writeFile(join(fx.dir, 'cached.html'), 'v2 {{ n }}');
  await writeFile(join(fx.dir, 'inc.html'), 'inc2');
  assert.equal(await views.render('cached', { n: 2 }), 'v1 2');
  assert.equal(await views.render('outer', {}), 'inc1');
  // A new engine reads the files afresh, so the cache is per engine, not global.
  const fresh = createViewEngine({ dir: fx.dir });
  assert.equal(await fresh.render('cached', { n: 3 }), 'v2 3');
  assert.equal(await fresh.render('outer', {}), 'inc2');
});

test('a missing view is the catalogue error viewNotFound, and is not cached as missing', async (t) => {
  const fx = await fixture(t, {});
  const views = createViewEngine({ dir: fx.dir });
  await assert.rejects(views.render('nope', {}), (err: unknown) => {
    assert.ok(err instanceof NovaError);
    assert.equal(err.code, 'NOVA_ERR_VIEW_NOT_FOUND');
    assert.equal(err.status, 500);
    assert.match(err.message, /"nope"/);
    return true;
  });
  await writeFile(join(fx.dir, 'nope.html'), 'now here');
  assert.equal(await views.render('nope', {}), 'now here');
});

test('has() tells whether a view exists', async (t) => {
  const fx = await fixture(t, { 'a.html': 'a', 'sub/b.html': 'b', 'broken.html': '{% if %}' });
  const views = createViewEngine({ dir: fx.dir });
  assert.equal(await views.has('a'), true);
  assert.equal(await views.has('sub/b'), true);
  assert.equal(await views.has('missing'), false);
  assert.equal(await views.has('broken'), true, 'it exists; render reports the parse error');
  await assert.rejects(views.render('broken', {}));
});

test('view names that could leave the directory are refused with a catalogue error', async (t) => {
  const fx = await fixture(t, { 'ok.html': 'ok' });
  const views = createViewEngine({ dir: fx.dir });
  const refused = ['../secret', 'sub/../../secret', '..', '/etc/passwd', join(fx.root, 'secret'), 'a\\..\\secret', 'a\0b', ''];
  for (const name of refused) {
    await assert.rejects(views.render(name, {}), hasCode('NOVA_ERR_VIEW_NAME'), `render(${JSON.stringify(name)})`);
    await assert.rejects(views.has(name), hasCode('NOVA_ERR_VIEW_NAME'), `has(${JSON.stringify(name)})`);
  }
});

test('includes and layouts cannot reach outside the directory', async (t) => {
  const fx = await fixture(t, {
    'inc-up.html': '{% include "../secret" %}',
    'layout-up.html': '{% layout "../secret" %}',
    'inc-var.html': '{% include target %}',
  });
  const views = createViewEngine({ dir: fx.dir });
  for (const name of ['inc-up', 'layout-up']) {
    await assert.rejects(views.render(name, {}), (err: unknown) => !String(err).includes('TOP SECRET'), name);
  }
  await assert.rejects(views.render('inc-var', { target: join(fx.root, 'secret') }));
  await assert.rejects(views.render('inc-var', { target: '../secret' }));
});

test('a symlink pointing outside the directory is not followed', async (t) => {
  const fx = await fixture(t, {});
  await symlink(join(fx.root, 'secret.html'), join(fx.dir, 'link.html'));
  const views = createViewEngine({ dir: fx.dir });
  await assert.rejects(views.render('link', {}), hasCode('NOVA_ERR_VIEW_NOT_FOUND'));
  assert.equal(await views.has('link'), false);
});

test('includes from the directory see the variables, including from subdirectories', async (t) => {
  const fx = await fixture(t, {
    'page.html': '<h1>{{ title }}</h1>{% include "partials/user" %}{% include "partials/user", name: "bob" %}',
    'partials/user.html': '<i>{{ name }}</i>',
  });
  const views = createViewEngine({ dir: fx.dir });
  assert.equal(await views.render('page', { title: 'T', name: '<ada>' }), '<h1>T</h1><i>&lt;ada&gt;</i><i>bob</i>');
});

test('layouts from the directory wrap a view through blocks', async (t) => {
  const fx = await fixture(t, {
    'layouts/base.html': '<html><title>{% block title %}Default{% endblock %}</title><body>{% block content %}{% endblock %}</body></html>',
    'login.html': '{% layout "layouts/base" %}{% block title %}Sign in{% endblock %}{% block content %}<form>{{ user }}</form>{% endblock %}',
  });
  const views = createViewEngine({ dir: fx.dir });
  assert.equal(await views.render('login', { user: '"x"' }), '<html><title>Sign in</title><body><form>&#34;x&#34;</form></body></html>');
});

test('variables are read as own properties only', async (t) => {
  const fx = await fixture(t, { 'proto.html': '[{{ obj.constructor }}]' });
  const views = createViewEngine({ dir: fx.dir });
  assert.equal(await views.render('proto', { obj: {} }), '[]');
});
