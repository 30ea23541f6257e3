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

/** `count` requests over a few keep-alive connections, each with the given cookie header. */
async function flood(port: number, count: number, cookie: (i: number) => string | undefined): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const c = cookie(i);
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/whoami', agent, headers: c ? { cookie: c } : {} }, (res) => {
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
