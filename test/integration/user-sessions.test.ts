// "Your sessions" in the example app, tried as a user would, over HTTP against separate processes:
// on the memory store, on Redis, on PostgreSQL, and on three nodes replicating over Redis and over
// NATS with every request going to the next node. One user logs in from three clients, sees three
// sessions, signs the others out from one; revokes one by its handle; cannot revoke another
// user's; sees a flash once. The Redis and PostgreSQL runs then dump the store and look for the
// cookies' ids in it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { startChild, type Child } from '../helpers/child.js';
import { cookiePair } from '../helpers/cookies.js';
import { freePort } from '../helpers/outage.js';
import { serviceUrl } from '../helpers/servers.js';
import { skipUnlessReachable } from '../helpers/service.js';

const main = fileURLToPath(new URL('../../examples/login/main.js', import.meta.url));
const redisUrl = serviceUrl('redis');
const natsUrl = serviceUrl('nats');
const pgUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Nodes of one deployment; `at(i)` is where request i goes (round-robin, no stickiness). */
class Nodes {
  readonly children: Child[] = [];
  readonly urls: string[] = [];
  #next = 0;

  async start(count: number, env: NodeJS.ProcessEnv): Promise<void> {
    const secret = randomBytes(32).toString('base64url');
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      this.children.push(await startChild(main, { PORT: String(port), SESSION_SECRET: secret, LOGIN_RATE_LIMIT: '0', ...env }, /listening on/));
      this.urls.push(`http://127.0.0.1:${port}`);
    }
  }

  /** The next node in turn. */
  get url(): string {
    return this.urls[this.#next++ % this.urls.length]!;
  }

  async stop(): Promise<void> {
    for (const c of this.children) if (c.proc.exitCode === null) c.proc.kill('SIGTERM');
    await Promise.all(this.children.map((c) => c.exited));
  }
}

async function login(nodes: Nodes, username: string, userAgent: string): Promise<string> {
  const res = await fetch(`${nodes.url}/login`, {
    method: 'POST',
    headers: { 'user-agent': userAgent },
    body: new URLSearchParams({ username, password: 'password' }),
    redirect: 'manual',
  });
  await res.arrayBuffer();
  assert.equal(res.status, 302, `login of ${username}`);
  return cookiePair(res);
}

interface Listed {
  handle: string;
  current: boolean;
  createdAt: string;
  lastSeenAt: string;
  userAgent: string | null;
}

async function sessionsOf(nodes: Nodes, cookie: string): Promise<Listed[] | number> {
  const res = await fetch(`${nodes.url}/sessions`, { headers: { cookie, accept: 'application/json' }, redirect: 'manual' });
  if (res.status !== 200) {
    await res.arrayBuffer();
    return res.status;
  }
  return ((await res.json()) as { sessions: Listed[] }).sessions;
}

/** The sessions page's HTML, and the CSRF token of its forms. */
async function page(nodes: Nodes, cookie: string, path = '/sessions'): Promise<{ html: string; csrf: string }> {
  const res = await fetch(`${nodes.url}${path}`, { headers: { cookie }, redirect: 'manual' });
  const html = await res.text();
  assert.equal(res.status, 200, `${path}: ${html.slice(0, 200)}`);
  return { html, csrf: /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '' };
}

async function post(nodes: Nodes, cookie: string, path: string, csrf: string | undefined): Promise<Response> {
  const body = new URLSearchParams(csrf === undefined ? {} : { _csrf: csrf });
  const res = await fetch(`${nodes.url}${path}`, { method: 'POST', headers: { cookie }, body, redirect: 'manual' });
  await res.arrayBuffer();
  return res;
}

/** The status of `GET /` for this cookie on every node: 200 logged in, 302 to the login page. */
async function everywhere(nodes: Nodes, cookie: string): Promise<number[]> {
  return Promise.all(
    nodes.urls.map(async (url) => {
      const res = await fetch(`${url}/`, { headers: { cookie }, redirect: 'manual' });
      await res.arrayBuffer();
      return res.status;
    }),
  );
}

/** Replicated nodes converge within the replication lag: poll, as a person reloading would. */
async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, limitMs = 5000): Promise<T> {
  const until = Date.now() + limitMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const idOf = (cookie: string) => decodeURIComponent(cookie.split('=')[1]!).split('.')[0]!;

/** The whole user story on `nodes`; returns every cookie it made, for the dump checks. */
async function story(nodes: Nodes): Promise<string[]> {
  const ada = `ada-${randomBytes(4).toString('hex')}`;
  const bob = `bob-${randomBytes(4).toString('hex')}`;
  const [a, b, c] = [await login(nodes, ada, 'Client A'), await login(nodes, ada, 'Client B'), await login(nodes, ada, 'Client C')];
  const bobCookie = await login(nodes, bob, 'Bob');

  // Three sessions, seen from each of the three clients, each marking itself.
  for (const [cookie, agent] of [
    [a, 'Client A'],
    [b, 'Client B'],
    [c, 'Client C'],
  ] as const) {
    const list = await eventually(
      () => sessionsOf(nodes, cookie),
      (l) => Array.isArray(l) && l.length === 3,
      `3 sessions for ${agent}`,
    );
    assert.ok(Array.isArray(list));
    assert.deepStrictEqual(list.map((s) => s.userAgent).sort(), ['Client A', 'Client B', 'Client C']);
    assert.deepStrictEqual(
      list.filter((s) => s.current).map((s) => s.userAgent),
      [agent],
    );
    for (const s of list) {
      assert.match(s.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.match(s.lastSeenAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(!s.handle.includes(idOf(a)) && !s.handle.includes(idOf(b)) && !s.handle.includes(idOf(c)));
    }
  }

  // The forms need their CSRF token.
  assert.equal((await post(nodes, a, '/sessions/revoke-others', undefined)).status, 403);
  assert.deepStrictEqual(
    await everywhere(nodes, b),
    nodes.urls.map(() => 200),
    'a refused form ends nothing',
  );

  // "Sign out all other sessions" from A: B and C are logged out on every node, A is not.
  const { csrf } = await page(nodes, a);
  const revoked = await post(nodes, a, '/sessions/revoke-others', csrf);
  assert.equal(revoked.status, 302);
  assert.equal(revoked.headers.get('location'), '/sessions');
  const shown = await page(nodes, a);
  assert.match(shown.html, /Signed out 2 other sessions\./);
  assert.doesNotMatch((await page(nodes, a)).html, /Signed out/, 'the flash shows once');
  for (const cookie of [b, c]) {
    await eventually(
      () => everywhere(nodes, cookie),
      (s) => s.every((x) => x === 302),
      'the others logged out on every node',
    );
  }
  assert.deepStrictEqual(
    await everywhere(nodes, a),
    nodes.urls.map(() => 200),
  );
  const left = await eventually(
    () => sessionsOf(nodes, a),
    (l) => Array.isArray(l) && l.length === 1,
    'one session left',
  );
  assert.ok(Array.isArray(left) && left[0]?.current === true);

  // Revoke one by its handle: exactly that one ends.
  const d = await login(nodes, ada, 'Client D');
  const withD = await eventually(
    () => sessionsOf(nodes, a),
    (l) => Array.isArray(l) && l.length === 2,
    'D listed',
  );
  const handleD = (withD as Listed[]).find((s) => s.userAgent === 'Client D')!.handle;
  const one = await post(nodes, a, `/sessions/${handleD}/revoke`, (await page(nodes, a)).csrf);
  assert.equal(one.status, 302);
  // The flash shows on GET / too, once.
  assert.match((await page(nodes, a, '/')).html, /Signed out that session\./);
  assert.doesNotMatch((await page(nodes, a, '/')).html, /Signed out/);
  await eventually(
    () => everywhere(nodes, d),
    (s) => s.every((x) => x === 302),
    'D logged out on every node',
  );
  assert.deepStrictEqual(
    await everywhere(nodes, a),
    nodes.urls.map(() => 200),
  );

  // Another user's handle revokes nothing.
  const bobList = await eventually(
    () => sessionsOf(nodes, bobCookie),
    (l) => Array.isArray(l) && l.length === 1,
    "bob's session",
  );
  const handleBob = (bobList as Listed[])[0]!.handle;
  const foreign = await post(nodes, a, `/sessions/${handleBob}/revoke`, (await page(nodes, a)).csrf);
  assert.equal(foreign.status, 302);
  assert.match((await page(nodes, a)).html, /That session was already signed out\./);
  assert.deepStrictEqual(
    await everywhere(nodes, bobCookie),
    nodes.urls.map(() => 200),
    'bob is still logged in',
  );
  return [a, b, c, d, bobCookie];
}

/** `pg_dump`, from PATH or Debian's versioned directory. */
function pgDump(): string | undefined {
  if (spawnSync('pg_dump', ['--version']).status === 0) return 'pg_dump';
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  for (const version of readdirSync(base).sort().reverse()) {
    const path = `${base}/${version}/bin/pg_dump`;
    if (existsSync(path)) return path;
  }
  return undefined;
}

describe('example: sessions per user', { concurrency: false }, () => {
  const running: Nodes[] = [];
  after(async () => {
    await Promise.all(running.map((n) => n.stop()));
  });
  const deploy = async (count: number, env: NodeJS.ProcessEnv) => {
    const nodes = new Nodes();
    running.push(nodes);
    await nodes.start(count, env);
    return nodes;
  };

  it('on the memory store', async () => {
    await story(await deploy(1, {}));
  });

  it('on Redis, whose keys and values hold no cookie id afterwards', async (t) => {
    const skip = await skipUnlessReachable(redisUrl, 6379, 'Redis');
    if (skip) return t.skip(skip);
    const cookies = await story(await deploy(2, { SESSION_STORE: redisUrl }));
    const client = createClient({ url: redisUrl });
    client.on('error', () => {});
    await client.connect();
    try {
      let dump = '';
      for await (const keys of client.scanIterator({ MATCH: 'nova:sess:*', COUNT: 1000 })) {
        for (const key of keys) {
          const type = await client.type(key);
          const value =
            type === 'hash'
              ? await client.hGetAll(key)
              : type === 'zset'
                ? await client.zRangeWithScores(key, 0, -1)
                : type === 'string'
                  ? await client.get(key)
                  : type === 'set'
                    ? await client.sMembers(key)
                    : type;
          dump += `${key} ${JSON.stringify(value)}\n`;
        }
      }
      assert.ok(dump.length > 0, 'the dump holds the sessions');
      for (const cookie of cookies) assert.ok(!dump.includes(idOf(cookie)), 'no cookie id in the Redis dump');
    } finally {
      await client.close();
    }
  });

  it('on PostgreSQL, whose pg_dump holds no cookie id afterwards', async (t) => {
    const skip = await skipUnlessReachable(pgUrl, 5432, 'PostgreSQL');
    if (skip) return t.skip(skip);
    const cookies = await story(await deploy(2, { SESSION_STORE: pgUrl }));
    const dumper = pgDump();
    if (dumper === undefined) {
      if (process.env.CI === 'true') assert.fail('pg_dump is not installed (Debian: postgresql-client)');
      return t.skip('pg_dump is not installed');
    }
    const run = spawnSync(dumper, ['--data-only', '--table=nova_sessions*', pgUrl], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /nova_sessions/);
    for (const cookie of cookies) assert.ok(!run.stdout.includes(idOf(cookie)), 'no cookie id in pg_dump');
  });

  for (const [engine, url, port] of [
    ['Redis', redisUrl, 6379],
    ['NATS', natsUrl, 4222],
  ] as const) {
    it(`on three nodes replicating over ${engine}, every request on the next node`, async (t) => {
      const skip = await skipUnlessReachable(url, port, engine);
      if (skip) return t.skip(skip);
      await story(await deploy(3, { SESSION_REPLICATION: url }));
    });
  }
});
