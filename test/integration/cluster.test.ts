// `npm run cluster`: workers on one port sharing sessions over cluster IPC, no sticky routing.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startChild } from '../helpers/child.js';
import { freePort } from '../helpers/outage.js';

const script = fileURLToPath(new URL('../../examples/login/cluster.js', import.meta.url));

/** One request on a connection of its own, so the primary hands it to the next worker. */
function get(port: number, path: string, cookie = ''): Promise<{ status: number; worker: string; body: string; setCookie: string[] }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { cookie, accept: 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, worker: String(res.headers['x-nova-worker']), body, setCookie: res.headers['set-cookie'] ?? [] }));
    });
    req.on('error', reject);
    req.end();
  });
}

function post(port: number, path: string, form: string, cookie = ''): Promise<{ status: number; setCookie: string[] }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: false,
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, setCookie: res.headers['set-cookie'] ?? [] }));
      },
    );
    req.on('error', reject);
    req.end(form);
  });
}

describe('npm run cluster', () => {
  it('keeps a login across every worker, on a fresh connection each time, and after a worker is killed', async () => {
    const port = await freePort();
    const app = await startChild(
      script,
      { PORT: String(port), CLUSTER_WORKERS: '3', SESSION_SECRET: 'cluster-test-secret-0123456789abcdefghij', LOGIN_RATE_LIMIT: '0' },
      /(listening on[\s\S]*){3}/,
      20_000,
    );
    try {
      const login = await post(port, '/login', 'username=ada&password=password');
      assert.equal(login.status, 302);
      const cookie = login.setCookie.find((c) => c.startsWith('session_id='))!.split(';')[0]!;
      const workers = new Set<string>();
      for (let i = 0; i < 9; i++) {
        const res = await get(port, '/profile', cookie);
        assert.deepEqual([res.status, res.body], [200, '{"username":"ada"}'], `request ${i} on worker ${res.worker}`);
        workers.add(res.worker);
      }
      assert.equal(workers.size, 3, 'the requests were spread over all three workers');

      // A worker that dies is replaced, and the new one pulls the sessions from the others.
      const victim = [...workers][0]!;
      process.kill(Number(victim), 'SIGKILL');
      const until = Date.now() + 15_000;
      while (!/starting another[\s\S]*listening on/.test(app.output().split('exited')[1] ?? '')) {
        if (Date.now() > until) assert.fail(`no replacement worker started:\n${app.output()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const after = new Set<string>();
      for (let i = 0; i < 9; i++) {
        const res = await get(port, '/profile', cookie);
        assert.equal(res.status, 200, `after the kill, request ${i} on worker ${res.worker}`);
        after.add(res.worker);
      }
      assert.equal(after.has(victim), false);
      assert.equal(after.size, 3, 'the replacement worker served the session too');
      const logout = await get(port, '/logout', cookie);
      assert.equal(logout.status, 302);
      for (let i = 0; i < 3; i++) assert.equal((await get(port, '/profile', cookie)).status, 401, 'logged out on every worker');
    } finally {
      app.proc.kill('SIGTERM');
      await app.exited;
    }
  });
});
