import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { json, status, type Context, type RouteGroup } from 'nova-ts';
import { serve, type Served } from '../helpers/serve.js';

function routes(environment: string): RouteGroup[] {
  return [
    {
      prefix: '/api/',
      routes: [
        ['/users/:id', function show(ctx: Context) { return json({ id: ctx.bindings.id, env: environment }); }, { methods: ['get'] }],
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
    await s.app.addRoutes([{ plugins: [{ name: 'late', init: () => void (inits += 1) }], routes: [['/late', () => json({ late: true }), { methods: ['get'] }]] }]);
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
