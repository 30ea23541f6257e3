import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { json, memoryStore, session, type Context } from 'nova-ts';
import { serve } from '../helpers/serve.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** `count` requests to `path` over a few keep-alive connections, each with the given cookie header. */
async function flood(port: number, count: number, cookie: (i: number) => string | undefined, path = '/whoami'): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const c = cookie(i);
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, agent, headers: c ? { cookie: c } : {} }, (res) => {
          assert.ok(res.statusCode === 200, `status ${res.statusCode}`);
          res.resume().on('end', resolve);
        });
        req.on('error', reject);
        req.end();
      });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  agent.destroy();
}

describe('a flood of cookie-less and forged-cookie requests', () => {
  it('stores nothing and leaves the heap flat', async () => {
    const store = memoryStore();
    const s = await serve({
      routes: [{ routes: [['/whoami', async (ctx: Context) => json({ user: (await session.get(ctx, 'username')) ?? null })]] }],
      session: { secrets: ['flood-test-secret-0123456789abcdefghijk'], store },
    });
    try {
      const port = Number(new URL(s.url).port);
      await flood(port, 2000, () => undefined); // warm up: JIT, buffers, agent
      const before = heapAfterGc();
      await flood(port, 15_000, () => undefined);
      await flood(port, 5000, (i) => `session_id=${'A'.repeat(43)}.${String(i).padStart(43, 'x')}`);
      const after = heapAfterGc();
      assert.equal(store.size, 0, 'no session was stored for any of 20,000 requests');
      const growth = after - before;
      assert.ok(growth < 4 * 1024 * 1024, `heap grew by ${(growth / 1024 / 1024).toFixed(1)} MiB over 20,000 requests`);
    } finally {
      await s.close();
    }
  });
});

describe('sessions written from requests with long Cookie headers', () => {
  it('do not keep those headers alive', async () => {
    const s = await serve({
      routes: [{ routes: [['/write', async (ctx: Context) => (await session.set(ctx, 'n', 1), json({}))]] }],
      session: { secrets: ['flood-test-secret-0123456789abcdefghijk'] },
    });
    try {
      const port = Number(new URL(s.url).port);
      // Cookies handed out without a write (a form page), then a first write on a later request
      // that also carries 12 KB of other cookies: that request verifies the cookie afresh.
      const cookies: string[] = [];
      for (let i = 0; i < 1000; i += 1) {
        const res = await fetch(`${s.url}/nothing-${i}`);
        await res.arrayBuffer();
        cookies.push(res.headers.getSetCookie()[0]!.split(';')[0]!);
      }
      const padding = `analytics=${'z'.repeat(12 * 1024)}`;
      await flood(port, 50, (i) => `${padding}${i}; ${cookies[i]}`, '/write'); // warm up
      const before = heapAfterGc();
      await flood(port, 950, (i) => `${padding}${i + 50}; ${cookies[i + 50]}`, '/write');
      const grown = heapAfterGc() - before;
      assert.equal(s.app.sessions!.store.name, 'memory');
      // 950 headers of 12 KB are 11 MiB; 950 small sessions and their cache entries well under 2.
      assert.ok(grown < 4 * 1024 * 1024, `heap grew by ${(grown / 1024 / 1024).toFixed(1)} MiB for 950 sessions`);
    } finally {
      await s.close();
    }
  });
});
