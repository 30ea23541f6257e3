// The example app on a Redis store whose server this test runs, stops and starts itself: while the
// store is down, requests that need the session get 503 (never a crash, never a logged-in page),
// and the app recovers by itself once the store is back.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { reachable } from '../helpers/service.js';
import { startChild, type Child } from '../helpers/child.js';

const main = fileURLToPath(new URL('../../examples/login/main.js', import.meta.url));
const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
const skip = hasRedis || process.env.CI === 'true' ? false : 'redis-server is not installed';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A redis-server that writes every change to its append-only file, so data survives a restart. */
async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'], { stdio: 'ignore' });
  const until = Date.now() + 5000;
  while (!(await reachable(`redis://127.0.0.1:${port}`, port))) {
    if (Date.now() > until) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

describe('example app while its Redis store goes down and comes back', { skip }, () => {
  let redis: ChildProcess | undefined;
  let app: Child | undefined;
  after(async () => {
    app?.proc.kill('SIGTERM');
    if (redis) await stopRedis(redis);
  });

  it('answers 503 while Redis is down and recovers without a restart', async () => {
    assert.ok(hasRedis, 'redis-server must be installed under CI');
    const redisPort = await freePort();
    const dir = mkdtempSync(`${tmpdir()}/nova-redis-`);
    redis = await startRedis(redisPort, dir);
    const appPort = await freePort();
    app = await startChild(main, { PORT: String(appPort), SESSION_SECRET: 'outage-test-secret-0123456789-abcdefghij', SESSION_STORE: `redis://127.0.0.1:${redisPort}` }, /listening on/);
    const url = `http://127.0.0.1:${appPort}`;

    const login = await fetch(`${url}/login`, { method: 'POST', body: new URLSearchParams({ username: 'ada', password: 'password' }), redirect: 'manual' });
    assert.equal(login.status, 302);
    const cookie = login.headers.getSetCookie().find((c) => c.startsWith('session_id='))!.split(';')[0]!;
    assert.equal((await fetch(`${url}/profile`, { headers: { cookie } })).status, 200);

    await stopRedis(redis);
    for (const [path, accept] of [['/profile', 'application/json'], ['/', 'text/html']] as const) {
      const res = await fetch(`${url}${path}`, { headers: { cookie, accept }, redirect: 'manual' });
      assert.equal(res.status, 503, `${path} while the store is down`);
      const body = await res.text();
      assert.match(body, /unavailable/i);
      assert.doesNotMatch(body, /Hello ada|"username"/);
    }
    assert.equal((await fetch(`${url}/heartbeat`)).status, 200, 'routes that need no session still answer');

    redis = await startRedis(redisPort, dir);
    const until = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < until) {
      status = (await fetch(`${url}/profile`, { headers: { cookie } })).status;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(status, 200, 'the app is back, with the session, without a restart');
    assert.equal(app.proc.exitCode, null, 'the app never exited');
  });
});
