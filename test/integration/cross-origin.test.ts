// Login CSRF against the example app with its defaults: a forged cross-site post to /login must not
// log the victim's browser in as the attacker, while curl (no Origin, no Sec-Fetch-Site) still logs in.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startChild, type Child } from '../helpers/child.js';
import { cookiePair, setCookieFor } from '../helpers/cookies.js';
import { freePort } from '../helpers/outage.js';

const main = fileURLToPath(new URL('../../examples/login/main.js', import.meta.url));
const run = promisify(execFile);
const ATTACKER = new URLSearchParams({ username: 'attacker', password: 'password' });

describe('example app: cross-origin protection of POST /login (login CSRF)', () => {
  let app: Child;
  let url: string;

  before(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    app = await startChild(main, { PORT: String(port), SESSION_SECRET: 'cross-origin-example-secret-0123456789abc' }, /listening on/);
  });

  after(async () => {
    app.proc.kill('SIGTERM');
    assert.equal(await app.exited, 0, app.output());
  });

  /** Who `cookie` is logged in as: the username, or the status when it is not. */
  async function whoIs(cookie: string): Promise<string | number> {
    const res = await fetch(`${url}/profile`, { headers: { cookie, accept: 'application/json' } });
    return res.status === 200 ? ((await res.json()) as { username: string }).username : res.status;
  }

  it("refuses the attacker's cross-site form post with 403, and no cookie it sets is logged in", async () => {
    const res = await fetch(`${url}/login`, {
      method: 'POST',
      headers: {
        origin: 'https://evil.example',
        'sec-fetch-site': 'cross-site',
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: ATTACKER,
      redirect: 'manual',
    });
    assert.equal(res.status, 403);
    assert.match(((await res.json()) as { message: string }).message, /cross-origin request refused/);
    const line = setCookieFor(res);
    if (line !== undefined) assert.equal(await whoIs(line.split(';')[0]!), 401, 'the refused post handed out a logged-in session');
  });

  it("leaves the victim's own session as it was: the forged post carrying it logs nobody in", async () => {
    const visit = await fetch(`${url}/login`);
    const victim = cookiePair(visit);
    const res = await fetch(`${url}/login`, {
      method: 'POST',
      // Sent from another port of the same host (same site): SameSite=Lax lets the cookie through.
      headers: { cookie: victim, origin: 'http://127.0.0.1:1', 'sec-fetch-site': 'same-site', 'content-type': 'application/x-www-form-urlencoded' },
      body: ATTACKER,
      redirect: 'manual',
    });
    assert.equal(res.status, 403);
    assert.equal(setCookieFor(res), undefined, 'no new session for the victim');
    assert.equal(await whoIs(victim), 401);
  });

  it('refuses a post from an old browser whose Origin is another host, or null', async () => {
    for (const origin of ['https://evil.example', 'null']) {
      const res = await fetch(`${url}/login`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: ATTACKER,
        redirect: 'manual',
      });
      assert.equal(res.status, 403, origin);
      await res.arrayBuffer();
    }
  });

  it("lets the app's own form through (same origin)", async () => {
    const res = await fetch(`${url}/login`, {
      method: 'POST',
      headers: { origin: url, 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'ada', password: 'password' }),
      redirect: 'manual',
    });
    assert.equal(res.status, 302);
    assert.equal(await whoIs(cookiePair(res)), 'ada');
  });

  it('logs in with curl, which sends neither Origin nor Sec-Fetch-Site', async () => {
    const jar = join(mkdtempSync(join(tmpdir(), 'nova-cross-origin-')), 'jar');
    const { stdout } = await run('curl', ['-s', '-c', jar, '-o', '/dev/null', '-w', '%{http_code}', '-d', 'username=ada&password=password', `${url}/login`]);
    assert.equal(stdout, '302');
    const line = readFileSync(jar, 'utf8')
      .split('\n')
      .find((l) => /\tsession_id\t/.test(l));
    assert.ok(line, 'curl got a session cookie');
    assert.equal(await whoIs(`session_id=${line.split('\t')[6]}`), 'ada');
  });
});
