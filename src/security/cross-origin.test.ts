import assert from 'node:assert/strict';
import { request, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { connect, createServer as createHttp2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createApp, type App } from '../app.js';
import { loadConfig, type NovaConfigInput } from '../config.js';
import { NovaError } from '../errors.js';
import { cors } from '../plugins/cors.js';
import type { Plugin } from '../plugins/plugin.js';
import { json, status } from '../results/result.js';
import { compileCrossOrigin, crossOriginRefusal, type CrossOriginSettings } from './cross-origin.js';

const ON: CrossOriginSettings = { trustedOrigins: ['https://partner.example'], trustProxy: false };
const POST = ['POST'];

/** The policy of a POST route under `settings`, with `plugins`. */
function policy(settings: CrossOriginSettings = ON, plugins: readonly Plugin[] = [], group?: boolean) {
  const compiled = compileCrossOrigin(settings, group, plugins, POST);
  assert.notEqual(compiled, false, 'expected a route that is checked');
  return compiled as Exclude<typeof compiled, false>;
}

interface Case {
  name: string;
  method?: string;
  headers: IncomingHttpHeaders & Record<string, string | undefined>;
  trustProxy?: boolean;
  pass: boolean;
}

const host = 'app.example';
const cases: Case[] = [
  // Sec-Fetch-Site decides when it is there.
  { name: 'Sec-Fetch-Site: same-origin', headers: { host, 'sec-fetch-site': 'same-origin', origin: 'https://app.example' }, pass: true },
  { name: 'Sec-Fetch-Site: none (typed address, bookmark)', headers: { host, 'sec-fetch-site': 'none' }, pass: true },
  { name: 'Sec-Fetch-Site: cross-site', headers: { host, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }, pass: false },
  {
    name: 'Sec-Fetch-Site: same-site (a sibling subdomain or another port)',
    headers: { host, 'sec-fetch-site': 'same-site', origin: 'https://blog.app.example' },
    pass: false,
  },
  { name: 'Sec-Fetch-Site wins over a matching Origin', headers: { host, 'sec-fetch-site': 'cross-site', origin: 'https://app.example' }, pass: false },
  { name: 'an unknown Sec-Fetch-Site value', headers: { host, 'sec-fetch-site': 'SAME-ORIGIN', origin: 'https://app.example' }, pass: false },
  { name: 'Sec-Fetch-Site sent twice (Node joins them)', headers: { host, 'sec-fetch-site': 'same-origin, cross-site' }, pass: false },
  { name: 'an empty Sec-Fetch-Site counts as absent (Go)', headers: { host, 'sec-fetch-site': '', origin: 'https://app.example' }, pass: true },
  { name: 'cross-site from a trusted origin', headers: { host, 'sec-fetch-site': 'cross-site', origin: 'https://partner.example' }, pass: true },
  {
    name: 'cross-site from a trusted origin spelled otherwise (browsers never do)',
    headers: { host, 'sec-fetch-site': 'cross-site', origin: 'https://PARTNER.example' },
    pass: false,
  },
  // Neither header: not a browser, or a same-origin post from an old one.
  { name: 'neither header (curl, server to server)', headers: { host }, pass: true },
  { name: 'an empty Origin counts as absent', headers: { host, origin: '' }, pass: true },
  // Origin against the host, when Sec-Fetch-Site is missing.
  { name: 'Origin matching Host', headers: { host, origin: 'https://app.example' }, pass: true },
  { name: 'Origin matching Host, scheme ignored as in Go', headers: { host, origin: 'http://app.example' }, pass: true },
  { name: 'Origin of another host', headers: { host, origin: 'https://evil.example' }, pass: false },
  { name: 'Origin: null', headers: { host, origin: 'null' }, pass: false },
  { name: 'Origin with another port', headers: { host: 'app.example:8080', origin: 'https://app.example:8443' }, pass: false },
  { name: 'Origin without the port Host has', headers: { host: 'app.example:8080', origin: 'https://app.example' }, pass: false },
  { name: 'Origin with the port Host has', headers: { host: 'app.example:8080', origin: 'http://app.example:8080' }, pass: true },
  { name: 'host names compared without case', headers: { host: 'App.Example', origin: 'https://app.example' }, pass: true },
  { name: 'an IPv6 host', headers: { host: '[::1]:8080', origin: 'http://[::1]:8080' }, pass: true },
  { name: 'an IPv6 host on another port', headers: { host: '[::1]:8080', origin: 'http://[::1]:9090' }, pass: false },
  { name: 'a suffix of the host is not the host', headers: { host, origin: 'https://evil-app.example' }, pass: false },
  { name: 'Origin without a scheme', headers: { host, origin: 'app.example' }, pass: false },
  { name: 'Origin that is only a scheme', headers: { host: '', origin: 'https://' }, pass: false },
  { name: 'no Host at all (HTTP/1.0) and an Origin', headers: { origin: 'https://app.example' }, pass: false },
  { name: 'Origin not matching Host but trusted', headers: { host, origin: 'https://partner.example' }, pass: true },
  // HTTP/2: the host is in :authority.
  { name: 'HTTP/2 :authority matching Origin', headers: { ':authority': 'app.example', origin: 'https://app.example' }, pass: true },
  { name: 'HTTP/2 :authority not matching Origin', headers: { ':authority': 'app.example', origin: 'https://evil.example' }, pass: false },
  { name: ':authority is the host even with another Host header', headers: { ':authority': 'evil.example', host, origin: 'https://app.example' }, pass: false },
  // Behind a proxy.
  {
    name: 'X-Forwarded-Host ignored without trustProxy',
    headers: { host: 'backend:8080', 'x-forwarded-host': 'app.example', origin: 'https://app.example' },
    pass: false,
  },
  {
    name: 'X-Forwarded-Host under trustProxy',
    trustProxy: true,
    headers: { host: 'backend:8080', 'x-forwarded-host': 'app.example', origin: 'https://app.example' },
    pass: true,
  },
  {
    name: "the last X-Forwarded-Host entry under trustProxy (the first is the client's)",
    trustProxy: true,
    headers: { host: 'backend:8080', 'x-forwarded-host': 'app.example, evil.example', origin: 'https://app.example' },
    pass: false,
  },
  {
    name: 'the last X-Forwarded-Host entry matching',
    trustProxy: true,
    headers: { host: 'backend:8080', 'x-forwarded-host': 'evil.example, app.example', origin: 'https://app.example' },
    pass: true,
  },
  { name: 'no X-Forwarded-Host under trustProxy: Host', trustProxy: true, headers: { host, origin: 'https://app.example' }, pass: true },
  // Safe methods are never checked.
  { name: 'GET from another site', method: 'GET', headers: { host, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }, pass: true },
  { name: 'HEAD from another site', method: 'HEAD', headers: { host, 'sec-fetch-site': 'cross-site' }, pass: true },
  {
    name: 'OPTIONS (a preflight) from another site',
    method: 'OPTIONS',
    headers: { host, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
    pass: true,
  },
  { name: 'TRACE is not safe (as in Go)', method: 'TRACE', headers: { host, 'sec-fetch-site': 'cross-site' }, pass: false },
  { name: 'DELETE from another site', method: 'DELETE', headers: { host, origin: 'https://evil.example' }, pass: false },
];

describe('crossOriginRefusal', () => {
  for (const c of cases) {
    it(`${c.pass ? 'passes' : 'refuses'} ${c.name}`, () => {
      const p = policy({ trustedOrigins: ['https://partner.example'], trustProxy: c.trustProxy ?? false });
      const refusal = crossOriginRefusal(p, c.method ?? 'POST', c.headers);
      if (c.pass) assert.equal(refusal, undefined);
      else assert.equal(typeof refusal, 'string');
    });
  }

  it("never puts the client's header values into its reason", () => {
    const p = policy();
    const reasons = [
      crossOriginRefusal(p, 'POST', { host, 'sec-fetch-site': '<script>x</script>' }),
      crossOriginRefusal(p, 'POST', { host, origin: 'https://<script>.example' }),
    ];
    for (const reason of reasons) assert.doesNotMatch(String(reason), /script/);
  });
});

describe('compileCrossOrigin', () => {
  it('checks nothing when the app turned it off', () => {
    assert.equal(compileCrossOrigin(false, undefined, [], POST), false);
  });

  it('checks nothing on a group with crossOrigin: false, and checks a group with true', () => {
    assert.equal(compileCrossOrigin(ON, false, [], POST), false);
    assert.notEqual(compileCrossOrigin(ON, true, [], POST), false);
  });

  it('checks nothing on a route that answers only safe methods', () => {
    assert.equal(compileCrossOrigin(ON, undefined, [], ['GET', 'HEAD']), false);
    assert.notEqual(compileCrossOrigin(ON, undefined, [], ['GET', 'POST']), false);
  });

  it("trusts the origins the route's cors() allows, and the app's", () => {
    const p = policy(ON, [cors({ allowOrigins: ['https://App.Example:443', 'http://localhost:3000'] })]);
    assert.deepEqual([...p.trusted].sort(), ['http://localhost:3000', 'https://app.example', 'https://partner.example']);
    assert.equal(crossOriginRefusal(p, 'POST', { host: 'api.example', 'sec-fetch-site': 'cross-site', origin: 'http://localhost:3000' }), undefined);
  });

  it('trusts no origin for a wildcard cors()', () => {
    const p = policy({ trustedOrigins: [], trustProxy: false }, [cors({ allowOrigins: '*' })]);
    assert.equal(p.trusted.size, 0);
    assert.equal(typeof crossOriginRefusal(p, 'POST', { host, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }), 'string');
  });

  it('refuses a plugin whose trustedOrigins are not origins, naming the plugin', () => {
    const bad: Plugin = { name: 'partner', trustedOrigins: ['https://partner.example/path'] };
    assert.throws(
      () => compileCrossOrigin(ON, undefined, [bad], POST),
      (err: unknown) => err instanceof NovaError && err.code === 'NOVA_ERR_PLUGIN_INVALID' && /partner/.test(err.message),
    );
  });
});

describe('config.crossOrigin', () => {
  const routes: NovaConfigInput['routes'] = [];

  it('is on by default, trusting nothing', () => {
    assert.deepEqual(loadConfig({ routes }).crossOrigin, { trustedOrigins: [] });
  });

  it('takes false, and trusted origins brought to the form browsers send', () => {
    assert.equal(loadConfig({ routes, crossOrigin: false }).crossOrigin, false);
    assert.deepEqual(loadConfig({ routes, crossOrigin: { trustedOrigins: ['HTTPS://Partner.Example:443/'] } }).crossOrigin, {
      trustedOrigins: ['https://partner.example'],
    });
  });

  for (const bad of ['null', '*', 'https://partner.example/path', 'partner.example', 'https://partner.example?x=1', 'https://user:pw@partner.example']) {
    it(`refuses ${JSON.stringify(bad)} as a trusted origin, naming the key`, () => {
      assert.throws(
        () => loadConfig({ routes, crossOrigin: { trustedOrigins: [bad] } }),
        (err: unknown) =>
          err instanceof NovaError &&
          err.code === 'NOVA_ERR_CONFIG' &&
          err.message.includes('crossOrigin.trustedOrigins.0') &&
          /not an origin/.test(err.message),
      );
    });
  }

  it('refuses true and unknown keys', () => {
    assert.throws(() => loadConfig({ routes, crossOrigin: true as never }), /crossOrigin.*expected false or/);
    assert.throws(() => loadConfig({ routes, crossOrigin: { exempt: ['/hooks'] } as never }), /crossOrigin.*unknown key/);
  });

  it('refuses a group crossOrigin that is not a boolean', () => {
    assert.throws(() => createApp({ routes: [{ crossOrigin: 'no' as never, routes: [] }] }), /NOVA_ERR_ROUTE_INVALID|crossOrigin/);
  });
});

/** One request over a real socket, with any Host: fetch does not let a caller choose it. */
function send(url: string, method: string, headers: OutgoingHttpHeaders): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { accept: 'application/json', ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(method === 'GET' ? undefined : 'a=1');
  });
}

async function listening(config: NovaConfigInput): Promise<{ app: App; url: string; logged: unknown[][] }> {
  const logged: unknown[][] = [];
  const logger = { info: () => {}, warn: (...a: unknown[]) => logged.push(a), error: (...a: unknown[]) => logged.push(a) };
  const session = { secrets: ['cross-origin-test-secret-0123456789abcdef'] };
  const app = createApp({ logger, session, ...config, port: 0, host: '127.0.0.1' });
  const server = await app.listen();
  return { app, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, logged };
}

describe('cross-origin protection in the request path', () => {
  it('refuses before any plugin, security function or controller runs, with 403 NOVA_ERR_CROSS_ORIGIN, and logs nothing', async () => {
    const ran: string[] = [];
    const spy: Plugin = { name: 'spy', preRequest: () => void ran.push('plugin'), postRequest: () => void ran.push('post') };
    const { app, url, logged } = await listening({
      plugins: [spy],
      routes: [
        {
          security: () => (ran.push('security'), true),
          routes: [['/change', () => (ran.push('controller'), status(204)), { methods: ['post', 'get'] }]],
        },
      ],
    });
    try {
      const refused = await send(`${url}/change`, 'POST', { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
      assert.equal(refused.status, 403);
      assert.match(refused.body, /cross-origin request refused/);
      assert.deepEqual(ran, []);
      assert.equal((await send(`${url}/change`, 'POST', { host: 'app.example', origin: 'https://evil.example' })).status, 403);
      assert.equal((await send(`${url}/change`, 'POST', { origin: 'null' })).status, 403);
      assert.deepEqual(ran, []);
      assert.deepEqual(logged, [], 'a refusal is not logged per request');

      assert.equal(
        (await send(`${url}/change`, 'GET', { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })).status,
        204,
        'GET is never checked',
      );
      assert.equal((await send(`${url}/change`, 'POST', { host: 'app.example', origin: 'https://app.example' })).status, 204);
      assert.equal((await send(`${url}/change`, 'POST', { 'sec-fetch-site': 'same-origin', origin: url })).status, 204);
      assert.equal((await send(`${url}/change`, 'POST', {})).status, 204, 'curl: neither header');
      assert.deepEqual(ran.slice(0, 4), ['plugin', 'security', 'controller', 'post'], 'what passes takes the whole path');
    } finally {
      await app.close();
    }
  });

  it("renders the app's own 403 page for a refusal", async () => {
    const { app, url } = await listening({
      routes: [
        {
          routes: [
            ['/change', () => status(204), { methods: ['post'] }],
            [403, () => json({ page: 'forbidden' })],
          ],
        },
      ],
    });
    try {
      const refused = await send(`${url}/change`, 'POST', { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' });
      assert.equal(refused.status, 403);
      assert.deepEqual(JSON.parse(refused.body), { page: 'forbidden' });
    } finally {
      await app.close();
    }
  });

  it('lets through exempt groups, trusted origins, cors() origins, and everything when turned off', async () => {
    const evil = { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' };
    const partner = { 'sec-fetch-site': 'cross-site', origin: 'https://partner.example' };
    const spa = { 'sec-fetch-site': 'cross-site', origin: 'https://spa.example' };
    const { app, url } = await listening({
      crossOrigin: { trustedOrigins: ['https://partner.example'] },
      routes: [
        { routes: [['/form', () => status(204), { methods: ['post'] }]] },
        { prefix: '/hooks', crossOrigin: false, routes: [['/in', () => status(204), { methods: ['post'] }]] },
        {
          prefix: '/api',
          plugins: [cors({ allowOrigins: ['https://spa.example'], credentials: true })],
          routes: [['/items', () => status(204), { methods: ['post'] }]],
        },
        { prefix: '/public', plugins: [cors({ allowOrigins: '*' })], routes: [['/items', () => status(204), { methods: ['post'] }]] },
      ],
    });
    try {
      assert.equal((await send(`${url}/form`, 'POST', evil)).status, 403);
      assert.equal((await send(`${url}/form`, 'POST', partner)).status, 204, 'a trusted origin');
      assert.equal((await send(`${url}/form`, 'POST', spa)).status, 403, 'cors() trusts an origin on its own routes only');
      assert.equal((await send(`${url}/hooks/in`, 'POST', evil)).status, 204, 'an exempt group');
      assert.equal((await send(`${url}/api/items`, 'POST', spa)).status, 204, "an origin the route's cors() allows");
      assert.equal((await send(`${url}/api/items`, 'POST', evil)).status, 403);
      assert.equal((await send(`${url}/public/items`, 'POST', spa)).status, 403, 'a wildcard cors() trusts no origin');
    } finally {
      await app.close();
    }
    const off = await listening({ crossOrigin: false, routes: [{ routes: [['/form', () => status(204), { methods: ['post'] }]] }] });
    try {
      assert.equal((await send(`${off.url}/form`, 'POST', evil)).status, 204, 'crossOrigin: false turns it off');
    } finally {
      await off.app.close();
    }
  });

  it('compares Origin with X-Forwarded-Host under trustProxy', async () => {
    const routes: NovaConfigInput['routes'] = [{ routes: [['/form', () => status(204), { methods: ['post'] }]] }];
    const behind = { host: 'backend:8080', 'x-forwarded-host': 'app.example', origin: 'https://app.example' };
    const trusting = await listening({ trustProxy: true, routes });
    const direct = await listening({ routes });
    try {
      assert.equal((await send(`${trusting.url}/form`, 'POST', behind)).status, 204);
      assert.equal((await send(`${direct.url}/form`, 'POST', behind)).status, 403, 'without trustProxy a client could name any host');
    } finally {
      await trusting.app.close();
      await direct.app.close();
    }
  });

  it("compares Origin with HTTP/2's :authority (no Host header on HTTP/2)", async () => {
    const app = createApp({
      logger: { info: () => {}, warn: () => {}, error: () => {} },
      session: { secrets: ['cross-origin-test-secret-0123456789abcdef'] },
      routes: [{ routes: [['/form', () => status(204), { methods: ['post'] }]] }],
    });
    await app.start();
    // Node's compatibility API hands the app request and response objects shaped like node:http's.
    const server = createHttp2Server((req, res) => void app.handle(req as unknown as IncomingMessage, res as unknown as ServerResponse));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const authority = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = connect(`http://${authority}`);
    const post = (origin: string) =>
      new Promise<number>((resolve, reject) => {
        const stream = client.request({ ':method': 'POST', ':path': '/form', origin });
        stream.on('response', (headers) => resolve(Number(headers[':status'])));
        stream.on('error', reject);
        stream.resume();
        stream.end('a=1');
      });
    try {
      assert.equal(await post(`http://${authority}`), 204);
      assert.equal(await post('https://evil.example'), 403);
    } finally {
      client.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
    }
  });
});
