// The example's GET /ready follows app.readiness(): 200 while ready, 503 with the reasons while
// not (here the store is made to say so, as a fenced replicated store does), and /heartbeat stays
// 200 throughout: liveness and readiness are different questions.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import type { App, StoreReadiness } from 'nova-ts';

const SECRET = 'readiness-test-secret-0123456789-abcdefghij';

describe("the example's GET /ready", () => {
  it('is 200 while the app is ready and 503 with the reasons while its session store is not, /heartbeat staying 200', async () => {
    const example = new URL('../../examples/login/app.js', import.meta.url).href;
    const { buildApp } = (await import(example)) as { buildApp: (env: NodeJS.ProcessEnv) => App };
    const app = buildApp({ PORT: '0', SESSION_SECRET: SECRET, LOGIN_RATE_LIMIT: '0' });
    const server = await app.listen();
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const get = async (path: string) => {
      const res = await fetch(`${url}${path}`);
      return { status: res.status, body: await res.text(), cache: res.headers.get('cache-control') };
    };
    try {
      assert.deepEqual(await get('/ready'), { status: 200, body: '{"ready":true}', cache: 'no-store' });

      let answer: StoreReadiness = { ready: false, reason: 'fenced: lease ran out' };
      Object.assign(app.sessions!.store, { readiness: () => answer });
      assert.deepEqual(await get('/ready'), { status: 503, body: '{"ready":false,"reasons":["session store: fenced: lease ran out"]}', cache: 'no-store' });
      assert.equal((await get('/heartbeat')).status, 200, 'a node that is not ready is still alive');

      answer = { ready: true };
      assert.equal((await get('/ready')).status, 200, 'ready again as soon as the store is');
    } finally {
      await app.close();
    }
  });
});
