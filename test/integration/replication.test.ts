// The example app as several OS processes replicating sessions over a real Redis and a real NATS:
// read-your-writes across nodes, logout seen everywhere, a late joiner, a node killed with
// SIGKILL and restarted, and the transport itself killed and restarted mid-run.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startChild, type Child } from '../helpers/child.js';
import { cookiePair } from '../helpers/cookies.js';
import { freePort } from '../helpers/outage.js';
import { hasServer, ownServer, serviceUrl, type Engine } from '../helpers/servers.js';
import { skipUnlessReachable } from '../helpers/service.js';

const main = fileURLToPath(new URL('../../examples/login/main.js', import.meta.url));
const inCi = process.env.CI === 'true';

interface Node {
  url: string;
  port: number;
  child: Child;
}

/** A cluster of example nodes on one transport URL, sharing a secret no other test uses. */
function cluster(replication: string) {
  const secret = randomBytes(32).toString('base64url');
  const nodes: Node[] = [];
  return {
    nodes,
    async start(port?: number): Promise<Node> {
      const p = port ?? (await freePort());
      const child = await startChild(
        main,
        { PORT: String(p), SESSION_SECRET: secret, SESSION_REPLICATION: replication, LOGIN_RATE_LIMIT: '0' },
        /listening on/,
      );
      const node = { url: `http://127.0.0.1:${p}`, port: p, child };
      nodes.push(node);
      return node;
    },
    async kill(node: Node, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
      if (node.child.proc.exitCode === null && node.child.proc.signalCode === null) {
        node.child.proc.kill(signal);
        await node.child.exited;
      }
    },
    async stopAll(): Promise<void> {
      await Promise.all(nodes.map((n) => this.kill(n, 'SIGTERM')));
    },
  };
}

/** Log in as `name` on `node`; the session cookie, or the status when the login failed. */
async function login(node: Node, name: string): Promise<string | number> {
  const res = await fetch(`${node.url}/login`, { method: 'POST', body: new URLSearchParams({ username: name, password: 'password' }), redirect: 'manual' });
  await res.arrayBuffer();
  return res.status === 302 ? cookiePair(res) : res.status;
}

async function profile(node: Node, cookie: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${node.url}/profile`, { headers: { cookie, accept: 'application/json' } });
  return { status: res.status, body: await res.text() };
}

async function eventually(check: () => Promise<boolean>, what: string, limitMs = 15_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > until) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const engine of ['redis', 'nats'] as Engine[]) {
  describe(`example nodes replicating sessions over ${engine}`, { concurrency: false }, () => {
    const url = serviceUrl(engine);
    const running: ReturnType<typeof cluster>[] = [];
    after(async () => {
      await Promise.all(running.map((c) => c.stopAll()));
    });

    it('log in on one node, read on another right away, log out on a third; a node started later knows every live session', async (t) => {
      const skip = await skipUnlessReachable(url, engine === 'redis' ? 6379 : 4222, engine);
      if (skip) return t.skip(skip);
      const c = cluster(url);
      running.push(c);
      const [a, b, third] = [await c.start(), await c.start(), await c.start()];
      const cookies: string[] = [];
      // Read-your-writes across nodes, many times over: each read follows the login's response at once.
      for (let i = 0; i < 30; i++) {
        const [writer, reader] = [c.nodes[i % 3]!, c.nodes[(i + 1) % 3]!];
        const cookie = await login(writer, `user${i}`);
        assert.equal(typeof cookie, 'string', `login ${i}`);
        const read = await profile(reader, cookie as string);
        assert.deepEqual([read.status, read.body], [200, JSON.stringify({ username: `user${i}` })], `login on node ${i % 3}, read on node ${(i + 1) % 3}`);
        cookies.push(cookie as string);
      }
      const gone = cookies.shift()!;
      const logout = await fetch(`${third!.url}/logout`, { headers: { cookie: gone }, redirect: 'manual' });
      assert.equal(logout.status, 302);
      assert.equal((await profile(a!, gone)).status, 401, 'the first node no longer knows the session');
      assert.equal((await profile(b!, gone)).status, 401);

      const late = await c.start();
      for (const cookie of cookies) assert.equal((await profile(late, cookie)).status, 200, 'the late node serves every live session');
      assert.equal((await profile(late, gone)).status, 401, 'and not the logged-out one');
    });

    it('a node killed with SIGKILL restarts and catches up with what happened meanwhile', async (t) => {
      const skip = await skipUnlessReachable(url, engine === 'redis' ? 6379 : 4222, engine);
      if (skip) return t.skip(skip);
      const c = cluster(url);
      running.push(c);
      const a = await c.start();
      const b = await c.start();
      const before = (await login(a, 'before')) as string;
      await c.kill(b);
      const during = (await login(a, 'during')) as string;
      const out = await login(a, 'logout-while-down');
      await fetch(`${a.url}/logout`, { headers: { cookie: out as string }, redirect: 'manual' });
      const back = await c.start(b.port);
      assert.equal((await profile(back, before)).status, 200);
      assert.deepEqual(await profile(back, during), { status: 200, body: '{"username":"during"}' });
      assert.equal((await profile(back, out as string)).status, 401);
    });

    it(`loses no acknowledged write when the ${engine} server is killed and restarted mid-run`, {
      skip: hasServer(engine) || inCi ? false : `${engine}-server is not installed`,
    }, async () => {
      assert.ok(hasServer(engine), `${engine}-server must be installed under CI`);
      const server = await ownServer(engine);
      const c = cluster(server.url);
      running.push(c);
      try {
        const a = await c.start();
        const b = await c.start();
        const acked: [string, string][] = [];
        let refused = 0;
        let stop = false;
        const writer = (async () => {
          for (let i = 0; !stop; i++) {
            const cookie = await login(a, `w${i}`);
            if (typeof cookie === 'string') acked.push([`w${i}`, cookie]);
            else {
              assert.equal(cookie, 503, 'a write the transport did not take is refused with 503');
              refused++;
            }
          }
        })();
        await eventually(async () => acked.length >= 20, 'logins before the outage');
        await server.kill();
        await new Promise((r) => setTimeout(r, 1500));
        await server.start();
        const ackedBefore = acked.length;
        await eventually(async () => acked.length >= ackedBefore + 20, 'logins after the transport is back');
        stop = true;
        await writer;
        assert.ok(refused > 0, 'some logins were refused while the transport was down');
        // Every acknowledged login is readable on the other node once the transport is back.
        await eventually(async () => {
          for (const [, cookie] of acked) if ((await profile(b, cookie)).status !== 200) return false;
          return true;
        }, 'node b knows every acknowledged login');
        for (const [name, cookie] of acked) assert.equal((await profile(b, cookie)).body, JSON.stringify({ username: name }));
      } finally {
        await c.stopAll();
        await server.kill();
      }
    });
  });
}
