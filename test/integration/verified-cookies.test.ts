// The session step's cache of verified cookie values, seen through a real server: a login's
// cookie is known before its first read (no HMAC on that read), a visitor's empty session is not.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { json, redirect, session, type Context, type RouteGroup } from 'nova-ts';
import { serve } from '../helpers/serve.js';

const routes: RouteGroup[] = [
  {
    routes: [
      [
        '/login',
        async (ctx: Context) => {
          await session.regenerate(ctx);
          await session.set(ctx, 'username', 'ada');
          return redirect('/');
        },
        { methods: ['post'] },
      ],
      ['/whoami', async (ctx: Context) => json({ user: (await session.get(ctx, 'username')) ?? null })],
    ],
  },
];

function cookieOf(res: Response): string {
  const line = res.headers.getSetCookie().find((c) => c.startsWith('session_id='));
  assert.ok(line, 'a session cookie was set');
  return line.split(';', 1)[0]!;
}

describe('verified session cookies', () => {
  it("remembers a login's cookie when it is signed, so its first read needs no HMAC", async () => {
    const s = await serve({ routes, session: { secrets: ['verified-cookies-test-secret-0123456789'] } });
    try {
      const manager = s.app.sessions!;
      const login = await fetch(`${s.url}/login`, { method: 'POST', redirect: 'manual' });
      assert.equal(login.status, 302);
      const cookie = cookieOf(login);
      assert.equal(manager.verifiedCookieCount, 1, 'the cookie the login sent is held as verified');
      const read = await fetch(`${s.url}/whoami`, { headers: { cookie } });
      assert.deepEqual(await read.json(), { user: 'ada' });
      assert.equal(manager.verifiedCookieCount, 1, 'the read found it: nothing new was added');
    } finally {
      await s.close();
    }
  });

  it("does not remember the cookie of a visitor's empty session", async () => {
    const s = await serve({ routes, session: { secrets: ['verified-cookies-test-secret-0123456789'] } });
    try {
      const res = await fetch(`${s.url}/whoami`);
      assert.deepEqual(await res.json(), { user: null });
      cookieOf(res); // minted and sent, but nothing stored under it
      assert.equal(s.app.sessions!.verifiedCookieCount, 0);
    } finally {
      await s.close();
    }
  });
});
