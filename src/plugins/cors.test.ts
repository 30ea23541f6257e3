import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NovaError } from '../errors.js';
import { cors, type CorsOptions } from './cors.js';
import type { Plugin } from './plugin.js';
import { send, serve, type Harness } from '../../test/helpers/plugin-harness.js';

const APP = 'https://app.example';
const EVIL = 'https://evil.example';

const servers: Harness[] = [];
after(() => Promise.all(servers.map((server) => server.close())));

async function start(options: CorsOptions, before: Plugin[] = []): Promise<Harness> {
  const server = await serve([...before, cors(options)]);
  servers.push(server);
  return server;
}

const preflight = (origin: string, extra: Record<string, string> = {}) => ({
  method: 'OPTIONS',
  headers: { origin, 'access-control-request-method': 'PUT', ...extra },
});

describe('cors: simple requests', () => {
  it('echoes an allowed origin and varies on Origin', async () => {
    const server = await start({ allowOrigins: [APP, 'https://other.example'] });
    const answer = await send(server, { method: 'GET', headers: { origin: APP } });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.outcome, 'continue');
    assert.equal(answer.headers['access-control-allow-origin'], APP);
    assert.equal(answer.headers.vary, 'Origin');
    assert.equal(answer.headers['access-control-allow-credentials'], undefined);
  });

  it('gives a disallowed origin no CORS headers, but still varies on Origin', async () => {
    const server = await start({ allowOrigins: APP });
    const answer = await send(server, { method: 'GET', headers: { origin: EVIL } });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['access-control-allow-origin'], undefined);
    assert.equal(answer.headers['access-control-allow-credentials'], undefined);
    assert.equal(answer.headers.vary, 'Origin');
  });

  it('matches origins exactly (no prefix or suffix tricks)', async () => {
    const server = await start({ allowOrigins: [APP] });
    for (const origin of [`${APP}.evil.example`, 'https://evilapp.example', 'http://app.example', 'null']) {
      const answer = await send(server, { method: 'GET', headers: { origin } });
      assert.equal(answer.headers['access-control-allow-origin'], undefined, origin);
    }
  });

  it('normalises configured origins to what browsers send', async () => {
    const server = await start({ allowOrigins: ['HTTPS://App.Example:443/'] });
    const answer = await send(server, { method: 'GET', headers: { origin: APP } });
    assert.equal(answer.headers['access-control-allow-origin'], APP);
  });

  it('appends Origin to a Vary header set before it', async () => {
    const setVary: Plugin = { name: 'vary-first', preRequest: (ctx) => ctx.setHeader('vary', 'Accept-Encoding') };
    const server = await start({ allowOrigins: [APP] }, [setVary]);
    const answer = await send(server, { method: 'GET', headers: { origin: APP } });
    assert.equal(answer.headers.vary, 'Accept-Encoding, Origin');
  });

  it('answers "*" to everyone with a wildcard and no credentials, without Vary', async () => {
    const server = await start({ allowOrigins: '*', exposeHeaders: ['x-total'] });
    const withOrigin = await send(server, { method: 'GET', headers: { origin: EVIL } });
    assert.equal(withOrigin.headers['access-control-allow-origin'], '*');
    assert.equal(withOrigin.headers['access-control-expose-headers'], 'x-total');
    assert.equal(withOrigin.headers.vary, undefined);
    const withoutOrigin = await send(server, { method: 'GET' });
    assert.equal(withoutOrigin.headers['access-control-allow-origin'], '*');
  });

  it('refuses a wildcard with credentials at creation: it would let every site read logged-in answers', () => {
    assert.throws(
      () => cors({ allowOrigins: '*', credentials: true }),
      (err: { code?: string }) => err.code === 'NOVA_ERR_PLUGIN_INVALID',
    );
  });

  it('treats OPTIONS without Access-Control-Request-Method as an ordinary request', async () => {
    const server = await start({ allowOrigins: [APP] });
    const answer = await send(server, { method: 'OPTIONS', headers: { origin: APP } });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.outcome, 'continue');
    assert.equal(answer.headers['access-control-allow-origin'], APP);
  });
});

describe('cors: preflight', () => {
  it('answers 204 at once with the allowed methods, headers and max age', async () => {
    const server = await start({
      allowOrigins: [APP],
      allowMethods: ['get', 'put'],
      allowHeaders: ['content-type', 'x-csrf-token'],
      credentials: true,
      maxAge: 600,
    });
    const answer = await send(server, preflight(APP, { 'access-control-request-headers': 'content-type' }));
    assert.equal(answer.status, 204);
    assert.equal(answer.body, undefined, 'the chain stopped: the harness reports nothing more');
    assert.equal(answer.headers['access-control-allow-origin'], APP);
    assert.equal(answer.headers['access-control-allow-methods'], 'GET, PUT');
    assert.equal(answer.headers['access-control-allow-headers'], 'content-type, x-csrf-token');
    assert.equal(answer.headers['access-control-allow-credentials'], 'true');
    assert.equal(answer.headers['access-control-max-age'], '600');
    assert.equal(answer.headers.vary, 'Origin');
  });

  it('echoes the requested headers when none are configured, dropping malformed names', async () => {
    const server = await start({ allowOrigins: [APP] });
    const answer = await send(server, preflight(APP, { 'access-control-request-headers': 'X-One, x-two ,bad name,' }));
    assert.equal(answer.status, 204);
    assert.equal(answer.headers['access-control-allow-headers'], 'X-One, x-two');
    assert.equal(answer.headers['access-control-allow-methods'], 'GET, HEAD, PUT, PATCH, POST, DELETE');
    assert.equal(answer.headers.vary, 'Origin, Access-Control-Request-Headers');
    assert.equal(answer.headers['access-control-max-age'], undefined);
  });

  it('refuses a preflight from a disallowed origin: 204 without any allow header', async () => {
    const server = await start({ allowOrigins: [APP], allowHeaders: ['content-type'] });
    const answer = await send(server, preflight(EVIL));
    assert.equal(answer.status, 204);
    assert.equal(answer.body, undefined);
    for (const name of Object.keys(answer.headers)) assert.ok(!name.startsWith('access-control-'), name);
  });

  it('answers a wildcard preflight with "*"', async () => {
    const server = await start({ allowOrigins: '*' });
    const answer = await send(server, preflight(EVIL));
    assert.equal(answer.status, 204);
    assert.equal(answer.headers['access-control-allow-origin'], '*');
  });
});

describe('cors: options', () => {
  const invalid: [string, unknown][] = [
    ['missing options', undefined],
    ['missing allowOrigins', {}],
    ['an empty origin list', { allowOrigins: [] }],
    ['an origin with a path', { allowOrigins: ['https://app.example/path'] }],
    ['an origin that is not a URL', { allowOrigins: 'app.example' }],
    ['the "null" origin', { allowOrigins: ['null'] }],
    ['"*" inside a list', { allowOrigins: [APP, '*'] }],
    ['CR/LF in an origin', { allowOrigins: ['https://app.example\r\nset-cookie: a=b'] }],
    ['CR/LF in a method', { allowOrigins: APP, allowMethods: ['GET\r\nX-Evil: 1'] }],
    ['CR/LF in a header', { allowOrigins: APP, allowHeaders: ['x-a\r\nx-b'] }],
    ['a comma in an exposed header', { allowOrigins: APP, exposeHeaders: ['a, b'] }],
    ['a negative maxAge', { allowOrigins: APP, maxAge: -1 }],
    ['a non-boolean credentials', { allowOrigins: APP, credentials: 'yes' }],
    ['an unknown option', { allowOrigins: APP, allowOrigin: APP }],
  ];
  for (const [label, options] of invalid) {
    it(`refuses ${label} at creation`, () => {
      assert.throws(
        () => cors(options as CorsOptions),
        (err: unknown) => err instanceof NovaError && err.code === 'NOVA_ERR_PLUGIN_INVALID',
      );
    });
  }
});
