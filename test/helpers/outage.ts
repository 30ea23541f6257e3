import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startChild, type Child } from './child.js';

const main = fileURLToPath(new URL('../../examples/login/main.js', import.meta.url));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The example app on `storeUrl`: log in, take the store down, check that session requests get 503
 * (never a crash, never a logged-in page) while others still answer, bring the store back, and
 * check the app recovers — with the session — without a restart. Returns the app for cleanup.
 */
export async function outageScenario(storeUrl: string, stopStore: () => Promise<void>, startStore: () => Promise<void>): Promise<Child> {
  const appPort = await freePort();
  const app = await startChild(
    main,
    { PORT: String(appPort), SESSION_SECRET: 'outage-test-secret-0123456789-abcdefghij', SESSION_STORE: storeUrl, LOGIN_RATE_LIMIT: '0' },
    /listening on/,
  );
  try {
    const url = `http://127.0.0.1:${appPort}`;
    const login = await fetch(`${url}/login`, { method: 'POST', body: new URLSearchParams({ username: 'ada', password: 'password' }), redirect: 'manual' });
    assert.equal(login.status, 302);
    const cookie = login.headers
      .getSetCookie()
      .find((c) => c.startsWith('session_id='))!
      .split(';')[0]!;
    assert.equal((await fetch(`${url}/profile`, { headers: { cookie } })).status, 200);

    await stopStore();
    for (const [path, accept] of [
      ['/profile', 'application/json'],
      ['/', 'text/html'],
    ] as const) {
      const res = await fetch(`${url}${path}`, { headers: { cookie, accept }, redirect: 'manual' });
      assert.equal(res.status, 503, `${path} while the store is down`);
      const body = await res.text();
      assert.match(body, /unavailable/i);
      assert.doesNotMatch(body, /Hello ada|"username"/);
    }
    assert.equal((await fetch(`${url}/heartbeat`)).status, 200, 'routes that need no session still answer');

    await startStore();
    const until = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < until) {
      status = (await fetch(`${url}/profile`, { headers: { cookie } })).status;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(status, 200, 'the app is back, with the session, without a restart');
    assert.equal(app.proc.exitCode, null, 'the app never exited');
    return app;
  } catch (err) {
    app.proc.kill('SIGTERM');
    throw err;
  }
}
