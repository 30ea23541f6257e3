// config.tls: HTTPS with HTTP/2 and HTTP/1.1 chosen by ALPN, Secure cookies, limits and graceful
// shutdown on HTTP/2 too; and the example's TLS_KEY/TLS_CERT, over both protocols and with curl.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { constants, type ClientHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createApp, json, requestPlugin, status, type App, type Context } from 'nova-ts';
import { startChild, type Child } from '../helpers/child.js';
import { freePort } from '../helpers/outage.js';
import { CONNECTION_SPECIFIC, h2Connect, h2Request, httpsRequestOnce, makeDevCert, type DevCert } from '../helpers/tls.js';

const main = fileURLToPath(new URL('../../examples/login/main.js', import.meta.url));
const SECRET = 'tls-test-secret-0123456789abcdefghijklmnopqr';

const cookieOf = (setCookie: string | string[] | undefined): string => {
  const line = [setCookie ?? []].flat().find((c) => c.startsWith('session_id='));
  assert.ok(line, `no session cookie in ${JSON.stringify(setCookie)}`);
  return line;
};
const pair = (line: string) => line.split(';')[0]!;

function assertNoConnectionHeaders(headers: Record<string, unknown>): void {
  for (const name of CONNECTION_SPECIFIC) assert.equal(headers[name], undefined, `HTTP/2 response carries "${name}"`);
}

describe('the example over TLS (TLS_KEY, TLS_CERT)', () => {
  let cert: DevCert;
  let child: Child;
  let origin: string;

  before(async () => {
    cert = makeDevCert();
    const port = await freePort();
    origin = `https://localhost:${port}`;
    child = await startChild(
      main,
      { PORT: String(port), TLS_KEY: cert.keyFile, TLS_CERT: cert.certFile, SESSION_SECRET: SECRET, LOGIN_RATE_LIMIT: '0' },
      /listening on https:/,
      20_000,
    );
  });

  after(async () => {
    if (child !== undefined) {
      child.proc.kill('SIGTERM');
      assert.equal(await child.exited, 0, `example did not exit cleanly:\n${child.output()}`);
    }
    cert?.remove();
  });

  it('serves HTTP/1.1 over TLS: login works and the cookie is Secure', async () => {
    const page = await httpsRequestOnce(`${origin}/login`, cert.cert);
    assert.equal(page.alpn, 'http/1.1');
    assert.equal(page.status, 200);
    const login = await httpsRequestOnce(`${origin}/login`, cert.cert, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=ada&password=password',
    });
    assert.equal(login.status, 302);
    const line = cookieOf(login.headers['set-cookie']);
    assert.match(line, /;\s*Secure/i);
    const profile = await httpsRequestOnce(`${origin}/profile`, cert.cert, { headers: { cookie: pair(line), accept: 'application/json' } });
    assert.equal(profile.status, 200);
    assert.match(profile.body, /ada/);
  });

  it('serves HTTP/2: a login holds across requests on the session, with no connection-specific headers', async () => {
    const session = await h2Connect(origin, cert.cert);
    try {
      assert.equal(session.alpnProtocol, 'h2');
      const page = await h2Request(session, { ':path': '/login' });
      assert.equal(page.headers[':status'], 200);
      assertNoConnectionHeaders(page.headers);
      const login = await h2Request(
        session,
        { ':method': 'POST', ':path': '/login', 'content-type': 'application/x-www-form-urlencoded' },
        'username=grace&password=password',
      );
      assert.equal(login.headers[':status'], 302);
      assertNoConnectionHeaders(login.headers);
      const line = cookieOf(login.headers['set-cookie']);
      assert.match(line, /;\s*Secure/i);
      for (let i = 0; i < 3; i++) {
        const home = await h2Request(session, { ':path': '/', cookie: pair(line) });
        assert.equal(home.headers[':status'], 200);
        assert.match(home.body, /Hello grace/);
      }
      const profile = await h2Request(session, { ':path': '/profile', cookie: pair(line), accept: 'application/json' });
      assert.equal(profile.headers[':status'], 200);
      assert.match(profile.body, /grace/);
    } finally {
      session.close();
    }
  });

  it('serves the stylesheet over HTTP/2: 200, a 304 on revalidation and a 206 range, with no connection-specific headers', async () => {
    const session = await h2Connect(origin, cert.cert);
    try {
      const css = await h2Request(session, { ':path': '/assets/app.css' });
      assert.equal(css.headers[':status'], 200);
      assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
      assert.match(css.body, /font-family/);
      assert.equal(css.headers['set-cookie'], undefined);
      assertNoConnectionHeaders(css.headers);
      const again = await h2Request(session, { ':path': '/assets/app.css', 'if-none-match': String(css.headers.etag) });
      assert.equal(again.headers[':status'], 304);
      assert.equal(again.body, '');
      const part = await h2Request(session, { ':path': '/assets/app.css', range: 'bytes=0-1' });
      assert.equal(part.headers[':status'], 206);
      assert.equal(part.body, '/*');
      assertNoConnectionHeaders(part.headers);
    } finally {
      session.close();
    }
  });

  const curlHasHttp2 = spawnSync('curl', ['-V'], { encoding: 'utf8' }).stdout?.includes('HTTP2') ?? false;
  it('answers curl --http2 over HTTP/2', { skip: curlHasHttp2 ? false : 'this curl has no HTTP/2' }, () => {
    const out = execFileSync(
      'curl',
      ['-sS', '--http2', '--cacert', cert.certFile, '-o', '/dev/null', '-w', '%{http_version} %{http_code}', `${origin}/login`],
      { encoding: 'utf8' },
    );
    assert.equal(out, '2 200');
  });
});

describe('the example refuses half a TLS configuration', () => {
  for (const [set, missing] of [
    ['TLS_KEY', 'TLS_CERT'],
    ['TLS_CERT', 'TLS_KEY'],
  ] as const) {
    it(`${set} without ${missing} stops it with a clear message`, async () => {
      const port = await freePort();
      const result = spawnSync(process.execPath, [main], {
        env: { ...process.env, PORT: String(port), [set]: '/nonexistent.pem', [missing]: '' },
        encoding: 'utf8',
        timeout: 20_000,
      });
      assert.equal(result.status, 1);
      assert.match(result.stderr, new RegExp(`TLS_KEY and TLS_CERT go together: ${set} is set but ${missing} is not`));
    });
  }
});

describe('an app with tls (HTTP/2 in process)', () => {
  let cert: DevCert;
  let app: App;
  let origin: string;
  let releaseSlow: () => void = () => {};

  before(async () => {
    cert = makeDevCert();
    app = createApp({
      host: '127.0.0.1',
      port: 0,
      tls: { key: cert.key, cert: cert.cert },
      // A long keep-alive, so an idle session is not what closes it during the shutdown test.
      server: { bodyTimeout: 500, requestTimeout: 60_000, keepAliveTimeout: 30_000 },
      shutdownTimeout: 10_000,
      useSessions: false,
      plugins: [requestPlugin()],
      logger: { info: () => {}, warn: () => {}, error: () => {} },
      routes: [
        {
          prefix: '',
          security: false,
          routes: [
            ['/echo', (ctx: Context) => json({ got: ctx.params, host: ctx.host, secure: ctx.secure }), { methods: ['post'] }],
            ['/slow', () => new Promise((resolve) => (releaseSlow = () => resolve(status(200, { body: 'done' })))), { methods: ['get'] }],
          ],
        },
      ],
    });
    const server = await app.listen();
    origin = `https://localhost:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await app?.close();
    cert?.remove();
  });

  it('knows the host from :authority and that the request is secure', async () => {
    const session = await h2Connect(origin, cert.cert);
    try {
      const answer = await h2Request(session, { ':method': 'POST', ':path': '/echo', 'content-type': 'application/x-www-form-urlencoded' }, 'a=1');
      assert.equal(answer.headers[':status'], 201);
      assert.deepEqual(JSON.parse(answer.body), { got: { a: '1' }, host: new URL(origin).host, secure: true });
    } finally {
      session.close();
    }
  });

  it('answers a stalled HTTP/2 body 408 within bodyTimeout', async () => {
    const session = await h2Connect(origin, cert.cert);
    try {
      const started = Date.now();
      const stream = session.request(
        { ':method': 'POST', ':path': '/echo', 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(1024 * 1024) },
        { endStream: false },
      );
      stream.write(Buffer.alloc(32 * 1024, 'a')); // part of the body, then nothing
      const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        stream.once('response', (h) => resolve(h));
        stream.once('error', reject);
      });
      assert.equal(headers[':status'], 408);
      assertNoConnectionHeaders(headers);
      assert.ok(Date.now() - started < 15_000, 'answered long before the 60 s requestTimeout');
      stream.close(constants.NGHTTP2_CANCEL);
    } finally {
      session.close();
    }
  });

  it('shuts down gracefully with an HTTP/2 session open: in-flight requests finish, new streams are refused', async () => {
    const session: ClientHttp2Session = await h2Connect(origin, cert.cert);
    const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
    session.on('error', () => {});
    const slow = h2Request(session, { ':path': '/slow' });
    await new Promise((r) => setTimeout(r, 200));
    const closed = app.close();
    const late = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('no GOAWAY within 5 s of close() (the keep-alive timeout is 30 s)')), 5_000).unref(),
    );
    await Promise.race([goaway, late]);
    await assert.rejects(h2Request(session, { ':path': '/slow' }), 'a new stream after GOAWAY is refused');
    releaseSlow();
    const answer = await slow;
    assert.equal(answer.headers[':status'], 200);
    assert.equal(answer.body, 'done');
    await closed;
    session.destroy();
  });
});
