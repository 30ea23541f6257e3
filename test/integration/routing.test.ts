import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { json, status, stop, type Context, type Plugin, type RouteGroup } from 'nova-ts';
import { serve, type Served } from '../helpers/serve.js';

function routes(environment: string): RouteGroup[] {
  return [
    {
      prefix: '/api/',
      routes: [
        [
          '/users/:id',
          function show(ctx: Context) {
            return json({ id: ctx.bindings.id, env: environment });
          },
          { methods: ['get'] },
        ],
        ['/users', () => json({ made: true }), { methods: ['post', 'put'] }],
        ['/any', (ctx: Context) => json({ method: ctx.method })],
        ['/files/[...]', (ctx: Context) => json({ rest: ctx.bindings['*'] }), { methods: ['get'] }],
      ],
    },
    { routes: [['/heartbeat', () => status(200), { methods: ['get'] }]] },
  ];
}

describe('router over a real socket', () => {
  let s: Served;
  before(async () => {
    s = await serve({ routes, environment: 'test' });
  });
  after(() => s.close());

  it('joins prefixes, binds :name and passes the environment to routes()', async () => {
    const res = await fetch(`${s.url}/api/users/42`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { id: '42', env: 'test' });
  });

  it('ignores a trailing slash and duplicate slashes', async () => {
    assert.equal((await fetch(`${s.url}/heartbeat/`)).status, 200);
    assert.equal((await fetch(`${s.url}//api//users/1`)).status, 200);
  });

  it('answers HEAD for a GET route without a body', async () => {
    const res = await fetch(`${s.url}/api/users/1`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '');
  });

  it('answers a POST with JSON as 201, like Nova', async () => {
    const res = await fetch(`${s.url}/api/users`, { method: 'POST' });
    assert.equal(res.status, 201);
  });

  it('gives 405 with Allow for a wrong method, with an empty body', async () => {
    const res = await fetch(`${s.url}/api/users`, { method: 'DELETE' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST, PUT');
    assert.equal(await res.text(), '');
  });

  it('routes every method when a route lists none (Nova default)', async () => {
    for (const method of ['GET', 'POST', 'PATCH', 'DELETE']) {
      const res = await fetch(`${s.url}/api/any`, { method });
      assert.deepEqual(await res.json(), { method });
    }
  });

  it('gives 404 as JSON for Accept: application/json and with no Accept', async () => {
    const res = await fetch(`${s.url}/nope`, { headers: { accept: 'application/json' } });
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(((await res.json()) as { message: string }).message, 'Resource not found');
  });

  it('gives 404 as an HTML page for a browser', async () => {
    const res = await fetch(`${s.url}/nope`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await res.text(), /Resource not found/);
  });

  it('supports a trailing [...] wildcard', async () => {
    const res = await fetch(`${s.url}/api/files/a/b/c.txt`);
    assert.deepEqual(await res.json(), { rest: 'a/b/c.txt' });
  });

  it('adds routes while running', async () => {
    assert.equal((await fetch(`${s.url}/late`)).status, 404);
    let inits = 0;
    await s.app.addRoutes([
      { plugins: [{ name: 'late', init: () => void (inits += 1) }], routes: [['/late', () => json({ late: true }), { methods: ['get'] }]] },
    ]);
    assert.equal(inits, 1, 'a plugin brought by routes added at run time is started');
    const res = await fetch(`${s.url}/late`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { late: true });
  });

  it('sends the server header', async () => {
    const res = await fetch(`${s.url}/heartbeat`);
    assert.equal(res.headers.get('server'), 'Nova.ts');
  });
});

describe('server header', () => {
  it('is configurable and can be turned off', async () => {
    const named = await serve({ routes, serverHeader: 'Acme/1' });
    const none = await serve({ routes, serverHeader: false });
    try {
      assert.equal((await fetch(`${named.url}/heartbeat`)).headers.get('server'), 'Acme/1');
      assert.equal((await fetch(`${none.url}/heartbeat`)).headers.get('server'), null);
    } finally {
      await named.close();
      await none.close();
    }
  });
});

/** A request with the target exactly as given (`//x/`, `http://host/x`, `*`): fetch would rewrite some. */
function send(base: string, target: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method, path: target, headers: { accept: 'application/json' }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('ctx.path is the path the router matched', () => {
  let s: Served;
  let reachedAny = 0;
  // What a user's access-control plugin looks like: it trusts ctx.path.
  const blockAny: Plugin = { name: 'block-any', preRequest: (ctx) => (ctx.path === '/any' ? stop(status(403)) : undefined) };
  const seen = (ctx: Context) => json({ path: ctx.path, rawPath: ctx.rawPath, bindings: { ...ctx.bindings } });
  before(async () => {
    s = await serve({
      routes: [
        {
          plugins: [blockAny],
          routes: [
            [
              '/any',
              () => {
                reachedAny += 1;
                return json({ reached: true });
              },
              { methods: ['get'] },
            ],
            ['/seen', seen, { methods: ['get'] }],
            ['/files/:name', seen, { methods: ['get'] }],
            ['/a/b', seen, { methods: ['get'] }],
          ],
        },
      ],
    });
  });
  after(() => s.close());

  it('a plugin blocking ctx.path === "/any" cannot be walked around by another spelling of /any', async () => {
    for (const target of [
      '/any',
      '/%61ny',
      '/%61%6e%79',
      '//any/',
      '/any/',
      'http://evil.example/any',
      'HTTP://evil.example//any/?x=1',
      '/x/../any',
      '/x/%2e%2e/any',
      '/./any',
    ]) {
      const res = await send(s.url, target);
      assert.equal(res.status, 403, `${target} must meet the plugin`);
    }
    assert.equal(reachedAny, 0);
  });

  it('gives the controller the normalised path, and the raw one as ctx.rawPath', async () => {
    for (const [target, rawPath] of [
      ['/%73een', '/%73een'],
      ['//seen/', '//seen/'],
      ['http://evil.example/seen?q=1', 'http://evil.example/seen'],
    ]) {
      const res = await send(s.url, target!);
      assert.equal(res.status, 200, target);
      assert.deepEqual(JSON.parse(res.body), { path: '/seen', rawPath, bindings: {} }, target);
    }
  });

  it('decodes once: /%2561ny is not /any', async () => {
    assert.equal((await send(s.url, '/%2561ny')).status, 404);
    assert.equal(reachedAny, 0);
  });

  it('keeps an encoded slash inside its segment: it binds, it never separates', async () => {
    const res = await send(s.url, '/files/a%2Fb');
    assert.deepEqual(JSON.parse(res.body), { path: '/files/a%2Fb', rawPath: '/files/a%2Fb', bindings: { name: 'a/b' } });
    assert.equal((await send(s.url, '/a%2Fb')).status, 404);
    assert.equal((await send(s.url, '/files%2Fx')).status, 404);
  });

  it('answers 400 for a target that has no one meaning, before any route or plugin sees it', async () => {
    for (const target of ['/%00', '/a%0D%0Ab', '/%C0%AE%C0%AE/any', '/%zz', '/any#x']) {
      const res = await send(s.url, target);
      assert.equal(res.status, 400, target);
      assert.match(JSON.parse(res.body).message as string, /request path refused/);
    }
    assert.equal((await send(s.url, '*', 'OPTIONS')).status, 400);
  });
});
