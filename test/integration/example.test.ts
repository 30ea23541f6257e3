import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sign } from '../../src/session/signing.js';
import { startChild, type Child } from '../helpers/child.js';
import { skipUnlessReachable } from '../helpers/service.js';

const main = fileURLToPath(new URL('../../examples/login/main.js', import.meta.url));
const run = promisify(execFile);
const SECRET = 'example-test-secret-0123456789-abcdefghij';

interface CurlResult {
  status: number;
  location: string;
  body: string;
}

/** One request through curl with a cookie jar, exactly as a user would try it from a shell. */
async function curl(jar: string, url: string, ...args: string[]): Promise<CurlResult> {
  const { stdout } = await run('curl', ['-s', '-c', jar, '-b', jar, '-o', '-', '-w', '\n%{http_code} %{redirect_url}', ...args, url]);
  const cut = stdout.lastIndexOf('\n');
  const [status, location = ''] = stdout.slice(cut + 1).split(' ');
  return { status: Number(status), location, body: stdout.slice(0, cut) };
}

function sessionCookieIn(jar: string): string | undefined {
  // Netscape jar format; HttpOnly cookies are prefixed with #HttpOnly_.
  const line = readFileSync(jar, 'utf8')
    .split('\n')
    .find((l) => /\tsession_id\t/.test(l));
  return line?.split('\t')[6];
}

async function startExample(env: Record<string, string> = {}): Promise<Child & { url: string }> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = await startChild(main, { PORT: String(port), SESSION_SECRET: SECRET, LOGIN_RATE_LIMIT: '0', ...env }, /listening on/);
  return Object.assign(child, { url: `http://127.0.0.1:${port}` });
}

describe('example app as `npm start` runs it', () => {
  let app: Child & { url: string };
  let dir: string;
  before(async () => {
    app = await startExample();
    dir = mkdtempSync(join(tmpdir(), 'nova-example-'));
  });
  after(async () => {
    app.proc.kill('SIGTERM');
    assert.equal(await app.exited, 0);
  });

  it('answers /heartbeat with 200', async () => {
    assert.equal((await fetch(`${app.url}/heartbeat`)).status, 200);
  });

  it('answers /ready with 200 {"ready":true} once started (readiness for a load balancer)', async () => {
    const res = await fetch(`${app.url}/ready`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ready: true });
  });

  it('answers unknown paths with 404, as JSON for Accept: application/json', async () => {
    const res = await fetch(`${app.url}/no/such/page`, { headers: { accept: 'application/json' } });
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { status: 404, message: 'Resource not found' });
  });

  it('answers a wrong method with 405 and Allow', async () => {
    const res = await fetch(`${app.url}/heartbeat`, { method: 'POST' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
  });

  it('serves the login form', async () => {
    const res = await curl(join(dir, 'form.jar'), `${app.url}/login`);
    assert.equal(res.status, 200);
    assert.match(res.body, /<form method="post" action="\/login">/);
    assert.match(res.body, /name="username"/);
    assert.match(res.body, /name="password"/);
  });

  it('serves its stylesheet from public/ as a static file, linked from the layout, cacheable and revalidated with 304', async () => {
    const page = await fetch(`${app.url}/login`);
    assert.match(await page.text(), /<link rel="stylesheet" href="\/assets\/app.css">/);
    const css = await fetch(`${app.url}/assets/app.css`);
    assert.equal(css.status, 200);
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
    assert.equal(await css.text(), readFileSync(fileURLToPath(new URL('../../examples/login/public/app.css', import.meta.url)), 'utf8'));
    // A fresh visitor gets no session cookie with it, and nothing makes it private.
    assert.equal(css.headers.get('set-cookie'), null);
    assert.equal(css.headers.get('cache-control'), 'public, max-age=0');
    assert.equal(css.headers.get('x-content-type-options'), 'nosniff');
    const etag = css.headers.get('etag');
    assert.ok(etag);
    // As a browser revalidates on reload. (fetch() alone would add `Cache-Control: no-cache`, which asks for the full file.)
    const again = await fetch(`${app.url}/assets/app.css`, { headers: { 'if-none-match': etag, 'cache-control': 'max-age=0' } });
    assert.equal(again.status, 304);
    assert.equal((await fetch(`${app.url}/assets/..%2fapp.js`)).status, 404, 'nothing outside public/');
  });

  it('runs the whole login flow with curl and a cookie jar', async () => {
    const jar = join(dir, 'flow.jar');
    const anonymous = await curl(jar, `${app.url}/`);
    assert.equal(anonymous.status, 302);
    assert.match(anonymous.location, /\/login$/);
    assert.equal((await curl(jar, `${app.url}/profile`)).status, 401);
    const before = sessionCookieIn(jar);
    assert.ok(before, 'the first visit got a session cookie');

    const wrong = await curl(jar, `${app.url}/login`, '-d', 'username=ada&password=nope');
    assert.match(wrong.body, /Invalid username or password/);
    assert.equal((await curl(jar, `${app.url}/profile`)).status, 401);

    const login = await curl(jar, `${app.url}/login`, '-d', 'username=ada&password=password');
    assert.equal(login.status, 302);
    assert.match(login.location, /\/$/);
    const after = sessionCookieIn(jar);
    assert.ok(after);
    assert.notEqual(after, before, 'the session id is regenerated at login');

    const home = await curl(jar, `${app.url}/`);
    assert.equal(home.status, 200);
    assert.match(home.body, /Hello ada/);
    const profile = await curl(jar, `${app.url}/profile`);
    assert.equal(profile.status, 200);
    assert.deepEqual(JSON.parse(profile.body), { username: 'ada' });

    const replay = `session_id=${after}`;
    const logout = await curl(jar, `${app.url}/logout`);
    assert.equal(logout.status, 302);
    assert.match(logout.location, /\/login$/);
    assert.equal((await curl(jar, `${app.url}/`)).status, 302, 'logged out');
    const replayed = await fetch(`${app.url}/profile`, { headers: { cookie: replay } });
    assert.equal(replayed.status, 401, 'replaying the old cookie finds no session');
  });

  it('never answers a forged, tampered or garbage cookie with a 5xx or a logged-in page', async () => {
    const jar = join(dir, 'forge.jar');
    await curl(jar, `${app.url}/login`, '-d', 'username=eve&password=password');
    const good = sessionCookieIn(jar)!;
    const forged = [good.slice(0, -2), `${good}x`, good.split('.')[0]!, 'garbage', '%00%ff', 'a'.repeat(5000), `${good}; session_id=${good}`];
    for (const value of forged) {
      for (const path of ['/', '/profile', '/logout']) {
        const res = await fetch(`${app.url}${path}`, { headers: { cookie: `session_id=${value}` }, redirect: 'manual' });
        assert.ok(res.status < 500, `${path} with ${value.slice(0, 30)} gave ${res.status}`);
        assert.notEqual(res.status, 200, `${path} must not be served logged in`);
      }
    }
  });
});

describe('example app session timeouts from the environment', () => {
  it('forgets a session idle longer than SESSION_IDLE_TIMEOUT', async () => {
    const app = await startExample({ SESSION_IDLE_TIMEOUT: '1' });
    try {
      const jar = join(mkdtempSync(join(tmpdir(), 'nova-idle-')), 'jar');
      await curl(jar, `${app.url}/login`, '-d', 'username=ada&password=password');
      assert.equal((await curl(jar, `${app.url}/profile`)).status, 200);
      await new Promise((r) => setTimeout(r, 1300));
      assert.equal((await curl(jar, `${app.url}/profile`)).status, 401);
    } finally {
      app.proc.kill('SIGTERM');
      await app.exited;
    }
  });

  it('ends a session at SESSION_ABSOLUTE_TIMEOUT however active it is', async () => {
    const app = await startExample({ SESSION_IDLE_TIMEOUT: '1.5', SESSION_ABSOLUTE_TIMEOUT: '1.5' });
    try {
      const jar = join(mkdtempSync(join(tmpdir(), 'nova-abs-')), 'jar');
      await curl(jar, `${app.url}/login`, '-d', 'username=ada&password=password');
      for (let i = 0; i < 3; i += 1) {
        assert.equal((await curl(jar, `${app.url}/profile`)).status, 200, 'alive while used');
        await new Promise((r) => setTimeout(r, 300));
      }
      await new Promise((r) => setTimeout(r, 900));
      assert.equal((await curl(jar, `${app.url}/profile`)).status, 401);
    } finally {
      app.proc.kill('SIGTERM');
      await app.exited;
    }
  });

  it('signs with the first SESSION_SECRET and accepts cookies signed with any listed one', async () => {
    const NEW = 'the-new-secret-of-the-example-0123456789';
    const OLD = 'the-old-secret-of-the-example-0123456789';
    const app = await startExample({ SESSION_SECRET: `${NEW}, ${OLD}` });
    try {
      const jar = join(mkdtempSync(join(tmpdir(), 'nova-rot-')), 'jar');
      await curl(jar, `${app.url}/login`, '-d', 'username=ada&password=password');
      const value = sessionCookieIn(jar)!;
      const id = value.split('.')[0]!;
      assert.equal(value, sign(id, [NEW]), 'new cookies are signed with the first secret');
      const withOld = await fetch(`${app.url}/profile`, { headers: { cookie: `session_id=${sign(id, [OLD])}` } });
      assert.equal(withOld.status, 200, 'a cookie signed with the second secret still works');
      const withOther = await fetch(`${app.url}/profile`, { headers: { cookie: `session_id=${sign(id, ['a-secret-nobody-configured-0123456789'])}` } });
      assert.equal(withOther.status, 401);
    } finally {
      app.proc.kill('SIGTERM');
      await app.exited;
    }
  });

  it('refuses a bad timeout value at start-up with a message naming the variable', async () => {
    await assert.rejects(startExample({ SESSION_IDLE_TIMEOUT: 'soon' }), /SESSION_IDLE_TIMEOUT must be a positive number/);
  });
});

describe('example app on a durable SESSION_STORE', () => {
  const stores = [
    ['redis', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 6379, 'Redis'],
    ['postgres', process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', 5432, 'PostgreSQL'],
  ] as const;
  for (const [name, url, port, what] of stores) {
    it(`keeps a login across an app restart on ${name}, and logout removes it`, async (t) => {
      const skip = await skipUnlessReachable(url, port, what);
      if (skip !== undefined) return t.skip(skip);
      const jar = join(mkdtempSync(join(tmpdir(), `nova-${name}-`)), 'jar');
      const first = await startExample({ SESSION_STORE: url });
      try {
        await curl(jar, `${first.url}/login`, '-d', 'username=ada&password=password');
        assert.equal((await curl(jar, `${first.url}/profile`)).status, 200);
      } finally {
        first.proc.kill('SIGTERM');
        assert.equal(await first.exited, 0);
      }
      const second = await startExample({ SESSION_STORE: url });
      try {
        const profile = await curl(jar, `${second.url}/profile`);
        assert.equal(profile.status, 200, 'still logged in after the restart');
        assert.deepEqual(JSON.parse(profile.body), { username: 'ada' });
        const cookie = `session_id=${sessionCookieIn(jar)}`;
        await curl(jar, `${second.url}/logout`);
        const replay = await fetch(`${second.url}/profile`, { headers: { cookie } });
        assert.equal(replay.status, 401, 'the logged-out session is gone from the store');
      } finally {
        second.proc.kill('SIGTERM');
        assert.equal(await second.exited, 0);
      }
    });
  }

  it('fails fast at start-up with a clear message when the store is unreachable', async () => {
    const t0 = Date.now();
    await assert.rejects(
      startExample({ SESSION_STORE: 'redis://:hunter2@127.0.0.1:1' }),
      (err: Error) => /could not start: .*unavailable/i.test(err.message) && !err.message.includes('hunter2'),
    );
    assert.ok(Date.now() - t0 < 8000, 'failed within seconds');
    await assert.rejects(
      startExample({ SESSION_STORE: 'mongodb://x:secret@h/db' }),
      (err: Error) => /SESSION_STORE must be/.test(err.message) && !err.message.includes('secret'),
    );
  });

  it('passes SESSION_STORE and SESSION_REPLICATION to the framework, whose refusals name the variables', async () => {
    await assert.rejects(
      startExample({ SESSION_REPLICATION: 'amqp://guest:hunter2@h' }),
      (err: Error) =>
        /could not start: SESSION_REPLICATION must be a redis:\/\/ or rediss:\/\/ URL, a nats:\/\/ \(or tls:\/\/\) URL, "cluster"/.test(err.message) &&
        !err.message.includes('hunter2'),
    );
    await assert.rejects(
      startExample({ SESSION_STORE: 'redis://127.0.0.1:6379', SESSION_REPLICATION: 'nats://127.0.0.1:4222' }),
      /could not start: SESSION_REPLICATION replicates the memory store/,
    );
    await assert.rejects(startExample({ SESSION_REPLICATION: 'cluster', SESSION_LEASE_MS: '1000', SESSION_SECRET: '' }), (err: Error) =>
      /could not start: Replication \(session\.replication\) needs session\.secrets.*openssl rand -base64 32.*\(here: SESSION_SECRET, comma-separated\)/.test(
        err.message,
      ),
    );
    await assert.rejects(
      startExample({ SESSION_STORE: 'postgres://127.0.0.1:5432/test', SESSION_SECRET: '' }),
      /could not start: The postgres store \(session\.store\) needs session\.secrets/,
    );
  });
});
