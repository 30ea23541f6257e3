/**
 * The example app on a Redis Cluster: `SESSION_STORE=redis+cluster://host:port` (one seed node;
 * the client discovers the rest) logs in and out, as a user would try it with curl. Without
 * redis-server this fails under CI (CI=true) and is skipped elsewhere.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startChild, type Child } from '../helpers/child.js';
import { clusterUnavailable, startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';

const main = fileURLToPath(new URL('../../examples/login/main.js', import.meta.url));
const run = promisify(execFile);
const SECRET = 'example-test-secret-0123456789-abcdefghij';

async function curl(jar: string, url: string, ...args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await run('curl', ['-s', '-c', jar, '-b', jar, '-o', '-', '-w', '\n%{http_code}', ...args, url]);
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

function sessionCookieIn(jar: string): string | undefined {
  const line = readFileSync(jar, 'utf8')
    .split('\n')
    .find((l) => /\tsession_id\t/.test(l));
  return line?.split('\t')[6];
}

async function startExample(env: Record<string, string>): Promise<Child & { url: string }> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = await startChild(main, { PORT: String(port), SESSION_SECRET: SECRET, LOGIN_RATE_LIMIT: '0', ...env }, /listening on/);
  return Object.assign(child, { url: `http://127.0.0.1:${port}` });
}

const missing = clusterUnavailable();
describe('example app on SESSION_STORE=redis+cluster://…', () => {
  let cluster: RedisClusterHandle | undefined;
  after(() => cluster?.stop());

  it('logs in and out on a Redis Cluster named by one of its nodes', {
    skip: missing !== undefined && process.env.CI !== 'true' ? missing : false,
  }, async () => {
    if (missing !== undefined) assert.fail(`${missing}: the Redis Cluster example test cannot run`);
    cluster = await startRedisCluster();
    const seed = cluster.nodes[3]?.port; // a replica at creation: any node is enough
    const app = await startExample({ SESSION_STORE: `redis+cluster://127.0.0.1:${seed}` });
    try {
      const jar = join(mkdtempSync(join(tmpdir(), 'nova-rcluster-')), 'jar');
      assert.equal((await curl(jar, `${app.url}/profile`)).status, 401);
      await curl(jar, `${app.url}/login`, '-d', 'username=ada&password=password');
      const profile = await curl(jar, `${app.url}/profile`);
      assert.equal(profile.status, 200);
      assert.deepEqual(JSON.parse(profile.body), { username: 'ada' });
      const cookie = `session_id=${sessionCookieIn(jar)}`;
      await curl(jar, `${app.url}/logout`);
      const replay = await fetch(`${app.url}/profile`, { headers: { cookie } });
      assert.equal(replay.status, 401, 'the logged-out session is gone from the cluster');
    } finally {
      app.proc.kill('SIGTERM');
      assert.equal(await app.exited, 0);
    }
  });
});
