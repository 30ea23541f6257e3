import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NovaError } from '../errors.js';
import { json } from '../results/result.js';
import { DEFAULT_SECURITY_HEADERS } from '../results/security-headers.js';
import { joinPath, Router } from './router.js';
import type { RouteGroup } from './routes.js';

const ctl = () => json({});

function rejects(groups: unknown, code: string, message?: RegExp) {
  const router = new Router([]);
  assert.throws(
    () => router.add(groups as RouteGroup[]),
    (err: unknown) => err instanceof NovaError && err.code === code && (message === undefined || message.test(err.message)),
  );
}

describe('Router', () => {
  it('refuses an unknown method name instead of widening it to all methods (Nova bug)', () => {
    rejects([{ routes: [['/x', ctl, { methods: ['GET'] }]] }], 'NOVA_ERR_ROUTE_METHOD', /"GET".*lowercase/);
    rejects([{ routes: [['/x', ctl, { methods: ['fetch'] }]] }], 'NOVA_ERR_ROUTE_METHOD', /"fetch"/);
  });

  it('refuses an empty or non-array methods option', () => {
    rejects([{ routes: [['/x', ctl, { methods: [] }]] }], 'NOVA_ERR_ROUTE_INVALID');
    rejects([{ routes: [['/x', ctl, { methods: 'get' }]] }], 'NOVA_ERR_ROUTE_INVALID');
  });

  it('refuses unknown route options, naming the route and the key, with a hint (plain JS has no type check)', () => {
    // Singular `method` would leave `methods` unset: the route would answer every method.
    rejects([{ routes: [['/x', ctl, { method: ['get'] }]] }], 'NOVA_ERR_ROUTE_INVALID', /"\/x".*unknown option "method" \(did you mean methods\?\)/);
    rejects([{ routes: [['/x', ctl, { methods: ['get'], secure: true }]] }], 'NOVA_ERR_ROUTE_INVALID', /"\/x".*unknown option "secure"; known: methods/);
    rejects([{ routes: [['/x', ctl, 'get']] }], 'NOVA_ERR_ROUTE_INVALID', /"\/x".*options must be an object/);
    rejects([{ routes: [['/x', ctl, ['get']]] }], 'NOVA_ERR_ROUTE_INVALID', /options must be an object/);
  });

  it('refuses unknown keys on a route group, with a hint, and plugins that are not plugins', () => {
    rejects([{ securty: () => true, routes: [] }], 'NOVA_ERR_ROUTE_INVALID', /group #0: unknown key "securty" \(did you mean security\?\)/);
    rejects([{ routes: [] }, { plugin: [], routes: [] }], 'NOVA_ERR_ROUTE_INVALID', /group #1: unknown key "plugin" \(did you mean plugins\?\)/);
    rejects([{ prefx: '/a', routes: [] }], 'NOVA_ERR_ROUTE_INVALID', /did you mean prefix\?/);
    rejects([{ plugins: {}, routes: [] }], 'NOVA_ERR_ROUTE_INVALID', /`plugins` must be an array/);
    rejects([{ plugins: [() => {}], routes: [] }], 'NOVA_ERR_ROUTE_INVALID', /`plugins\[0\]` is not a plugin/);
  });

  it('refuses a non-function controller, a group without routes, a bad security value', () => {
    rejects([{ routes: [['/x', 'main:index']] }], 'NOVA_ERR_ROUTE_INVALID', /controller/);
    rejects([{ prefix: '/a' }], 'NOVA_ERR_ROUTE_INVALID', /routes/);
    rejects([{ security: true, routes: [] }], 'NOVA_ERR_ROUTE_INVALID', /security/);
  });

  it('refuses the same method and path twice, naming them', () => {
    rejects(
      [
        {
          routes: [
            ['/x', ctl, { methods: ['get'] }],
            ['/x/', ctl, { methods: ['get'] }],
          ],
        },
      ],
      'NOVA_ERR_ROUTE_DUPLICATE',
      /GET \/x/,
    );
  });

  it('registers nothing from a batch with a bad route', () => {
    const router = new Router([]);
    assert.throws(() =>
      router.add([
        {
          routes: [
            ['/ok', ctl, { methods: ['get'] }],
            ['/bad', ctl, { methods: ['GOT' as 'get'] }],
          ],
        },
      ]),
    );
    assert.equal(router.find('GET', '/ok').kind, 'not-found');
  });

  it('lets an explicit HEAD route replace the one a GET route implied, in either order', () => {
    const head = function head() {
      return json({});
    };
    for (const order of [
      ['get', 'head'],
      ['head', 'get'],
    ] as const) {
      const router = new Router([]);
      for (const m of order) router.add([{ routes: [['/x', m === 'head' ? head : ctl, { methods: [m] }]] }]);
      const hit = router.find('HEAD', '/x');
      assert.equal(hit.kind === 'found' && hit.route.controllerName, 'head', order.join(' then '));
      assert.equal(router.find('GET', '/x').kind, 'found');
    }
  });

  it('refuses a status page outside 400-599', () => {
    rejects([{ routes: [[200, ctl]] }], 'NOVA_ERR_ROUTE_INVALID', /status/);
  });

  it('finds routes, reports 405 methods, and keeps status pages', () => {
    const router = new Router([]);
    router.add([
      {
        prefix: '/api',
        routes: [
          ['/u/:id', ctl, { methods: ['get', 'post'] }],
          [404, ctl],
        ],
      },
    ]);
    const hit = router.find('GET', '/api/u/7');
    assert.equal(hit.kind, 'found');
    assert.deepEqual(hit.kind === 'found' && { ...hit.bindings }, { id: '7' });
    const miss = router.find('DELETE', '/api/u/7');
    assert.equal(miss.kind, 'method-not-allowed');
    assert.deepEqual(miss.kind === 'method-not-allowed' && miss.allow, ['GET', 'POST', 'HEAD']);
    assert.ok(router.statusPage(404));
    assert.equal(router.statusPage(500), undefined);
  });

  it('puts global plugins before group plugins', () => {
    const g = { name: 'global' };
    const p = { name: 'group' };
    const router = new Router([g]);
    router.add([{ plugins: [p], routes: [['/x', ctl]] }]);
    const hit = router.find('GET', '/x');
    assert.deepEqual(hit.kind === 'found' && hit.route.plugins.map((x) => x.name), ['global', 'group']);
    assert.deepEqual(router.plugins(), [p]);
  });
});

describe('Router: security headers', () => {
  const headersOf = (router: Router, path: string) => {
    const hit = router.find('GET', path);
    assert.equal(hit.kind, 'found');
    return hit.kind === 'found' ? hit.route.securityHeaders : undefined;
  };

  it("gives each route its group's setting over the app's", () => {
    const router = new Router([], { securityHeaders: { ...DEFAULT_SECURITY_HEADERS, 'referrer-policy': 'same-origin' } });
    router.add([
      { routes: [['/page', ctl]] },
      {
        prefix: '/widget',
        securityHeaders: { 'x-frame-options': false, 'content-security-policy': 'frame-ancestors https://partner.example' },
        routes: [['/', ctl]],
      },
      { prefix: '/raw', securityHeaders: false, routes: [['/', ctl]] },
    ]);
    assert.deepEqual(headersOf(router, '/page')?.html.slice(0, 6), [
      'x-frame-options',
      'DENY',
      'content-security-policy',
      "frame-ancestors 'none'",
      'referrer-policy',
      'same-origin',
    ]);
    assert.deepEqual(headersOf(router, '/widget')?.html, [
      'content-security-policy',
      'frame-ancestors https://partner.example',
      'referrer-policy',
      'same-origin',
      'cross-origin-opener-policy',
      'same-origin',
    ]);
    assert.deepEqual(headersOf(router, '/widget')?.everywhere, ['x-content-type-options', 'nosniff']);
    assert.deepEqual(headersOf(router, '/raw'), { everywhere: [], html: [] });
  });

  it('refuses a bad group setting at start-up, naming the group and the header', () => {
    rejects(
      [{ routes: [] }, { securityHeaders: { 'x-frame-options': 'ALLOWALL' }, routes: [] }],
      'NOVA_ERR_ROUTE_INVALID',
      /group #1.*securityHeaders.*x-frame-options/,
    );
  });
});

describe('joinPath', () => {
  it('concatenates like Nova, ignoring empty segments and trailing slashes', () => {
    assert.equal(joinPath('', '/login'), '/login');
    assert.equal(joinPath('/api/', '/users/'), '/api/users');
    assert.equal(joinPath('api', 'v1//x'), '/api/v1/x');
    assert.equal(joinPath('', '/'), '/');
    assert.equal(joinPath('/static', '/[...]'), '/static/*');
  });

  it('refuses a wildcard that is not last', () => {
    assert.throws(() => joinPath('', '/[...]/x'), /last segment/);
  });
});
