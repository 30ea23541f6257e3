// The example app's login rate limit, as a new user meets it: with the defaults (no
// LOGIN_RATE_LIMIT), rapid logins from one address meet 429 with Retry-After well before the 50th,
// while another address still logs in; LOGIN_RATE_LIMIT=0 turns it off; a bad value refuses to start.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startChild, type Child } from '../helpers/child.js';
import { freePort } from '../helpers/outage.js';

const main = fileURLToPath(new URL('../../examples/login/main.js', import.meta.url));
const SECRET = 'rate-limit-test-secret-0123456789abcdefgh';

const children: Child[] = [];
after(async () => {
  for (const child of children) {
    if (child.proc.exitCode === null && child.proc.signalCode === null) {
      child.proc.kill('SIGTERM');
      await child.exited;
    }
  }
});

async function startExample(env: Record<string, string> = {}): Promise<{ port: number; child: Child }> {
  const port = await freePort();
  const child = await startChild(main, { PORT: String(port), SESSION_SECRET: SECRET, ...env }, /listening on/);
  children.push(child);
  return { port, child };
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** POST /login as curl would, from `from` (a loopback address of this machine: 127.0.0.0/8 is all ours). */
function login(port: number, username: string, from = '127.0.0.1', headers: Record<string, string> = {}): Promise<Answer> {
  const body = `username=${encodeURIComponent(username)}&password=password`;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        localAddress: from,
        method: 'POST',
        path: '/login',
        agent: false,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), ...headers },
      },
      (res) => {
        res.resume().on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('example app: login rate limit', () => {
  it('with the defaults, 50 rapid logins from one address meet 429 with Retry-After before the 50th; another address is not limited', async () => {
    const { port } = await startExample();
    const answers: Answer[] = [];
    for (let i = 0; i < 50; i += 1) answers.push(await login(port, `user${i}`));
    const first429 = answers.findIndex((a) => a.status === 429);
    assert.ok(first429 !== -1 && first429 < 49, `a 429 before the 50th login (statuses: ${answers.map((a) => a.status).join(' ')})`);
    assert.equal(first429, 20, 'the default is 20 a minute');
    assert.ok(
      answers.slice(0, 20).every((a) => a.status === 302),
      'the first 20 log in',
    );
    assert.ok(
      answers.slice(20).every((a) => a.status === 429),
      'and every later one is refused',
    );
    const refused = answers[first429]!;
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 120, `Retry-After: ${String(refused.headers['retry-after'])}`);
    assert.equal(refused.headers['ratelimit-limit'], '20');
    assert.equal(refused.headers['ratelimit-remaining'], '0');
    assert.equal(answers[0]!.headers['ratelimit-remaining'], '19');

    // The example trusts no proxy: a forged X-Forwarded-For buys no fresh quota.
    assert.equal((await login(port, 'eve', '127.0.0.1', { 'x-forwarded-for': '198.51.100.1' })).status, 429);
    // A second client address logs in while the first is refused.
    const other = await login(port, 'grace', '127.0.0.2');
    assert.equal(other.status, 302, 'another address is not limited by the first');
    // Only the login POST is limited: the login page still renders for the limited address.
    assert.equal((await fetch(`http://127.0.0.1:${port}/login`)).status, 200);
  });

  it('with LOGIN_RATE_LIMIT=0, 50 rapid logins from one address all succeed', async () => {
    const { port } = await startExample({ LOGIN_RATE_LIMIT: '0' });
    const statuses: number[] = [];
    for (let i = 0; i < 50; i += 1) statuses.push((await login(port, `user${i}`)).status);
    assert.deepEqual(statuses, Array(50).fill(302));
  });

  it('takes another limit from LOGIN_RATE_LIMIT', async () => {
    const { port } = await startExample({ LOGIN_RATE_LIMIT: '3' });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await login(port, 'ada')).status);
    assert.deepEqual(statuses, [302, 302, 302, 429, 429]);
  });

  for (const bad of ['abc', '-1', '1.5', '20 per minute']) {
    it(`refuses to start with LOGIN_RATE_LIMIT=${JSON.stringify(bad)}, saying why`, async () => {
      const port = await freePort();
      const started = await startChild(main, { PORT: String(port), SESSION_SECRET: SECRET, LOGIN_RATE_LIMIT: bad }, /listening on/).catch((err: Error) => err);
      if (!(started instanceof Error)) children.push(started); // started anyway: stopped after the tests
      assert.ok(started instanceof Error, 'the app must not start');
      assert.match(started.message, /child exited \(1\)/);
      assert.match(started.message, /could not start: LOGIN_RATE_LIMIT must be a whole number of login attempts per minute/);
    });
  }
});
