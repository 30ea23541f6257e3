/**
 * The Redis store against the real Redis at REDIS_URL (default redis://127.0.0.1:6379): the
 * conformance suite, the key layout, and failures. When Redis cannot be reached these tests fail
 * under CI (CI=true) and are skipped elsewhere. Hashing at rest, sessions per user and expiry
 * reports are in redis-users.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { createClient } from 'redis';
import { sessionStoreConformance } from '../../testing/session-store.suite.js';
import { rejectsWith } from '../../testing/session-store.lifecycle.js';
import { generateSessionId } from '../id.js';
import { hashSessionId } from '../id-hash.js';
import type { SessionStoreOptions } from '../store.js';
import { redisStore } from './redis.js';
import { whenRedis } from '../../../test/helpers/redis-gate.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `nova-test:${randomUUID()}:`;

await whenRedis(url, registerTests);

function registerTests(): void {
  sessionStoreConformance('redis', () => redisStore({ url, prefix }), { clock: false, unitMs: 250 }); // slack for busy CI machines: idle timeout 2.5 s

  const options: SessionStoreOptions = {
    idleTimeoutMs: 60_000,
    absoluteTimeoutMs: 600_000,
    touchIntervalMs: 5_000,
    maxSessionBytes: 1024,
    maxSessions: 100,
  };
  const raw = createClient({ url });
  raw.on('error', () => {});
  /** The session's hash key: the store keys by the hashed id, inside a hash tag. */
  const key = (id: string) => `${prefix}{${hashSessionId(id)}}`;

  describe('redis store: layout and round trips', () => {
    before(async () => {
      await raw.connect();
    });
    after(async () => {
      // Remove every key this run wrote (the conformance suite's too), then let the process exit.
      for await (const keys of raw.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
        if (keys.length > 0) await raw.del(keys);
      }
      await raw.close();
    });

    it('keeps one hash per session with one field per key, and a TTL on it', async () => {
      const store = redisStore({ url, prefix });
      await store.start(options);
      const id = generateSessionId();
      await store.setValue(id, 'user', { name: 'alice' });
      await store.setValue(id, 'cart', [1, 2]);
      assert.equal(await raw.type(key(id)), 'hash');
      const hash = await raw.hGetAll(key(id));
      assert.equal(hash['k:user'], '{"name":"alice"}');
      assert.equal(hash['k:cart'], '[1,2]');
      assert.deepEqual(
        Object.keys(hash)
          .filter((f) => !f.startsWith('k:'))
          .sort(),
        ['m:b', 'm:c', 'm:s'],
      );
      const ttl = await raw.pTTL(key(id));
      assert.ok(ttl > 55_000 && ttl <= 60_000, `hash TTL ${ttl} ms is about the idle timeout`);
      await store.stop();
    });

    it('writes one field per set (no whole-session rewrite)', async () => {
      const store = redisStore({ url, prefix });
      await store.start(options);
      const id = generateSessionId();
      await store.setValue(id, 'a', 'x');
      // A value changed behind the store's back survives a write of another key.
      await raw.hSet(key(id), 'k:a', '"changed"');
      await store.setValue(id, 'b', 'y');
      assert.equal(await store.getValue(id, 'a'), 'changed');
      await store.stop();
    });

    it('leaves a tombstone key after delete, and the hash is gone', async () => {
      const store = redisStore({ url, prefix });
      await store.start(options);
      const id = generateSessionId();
      await store.setValue(id, 'k', 1);
      await store.deleteValue(id);
      assert.equal(await raw.exists(key(id)), 0);
      assert.equal(await raw.exists(`${key(id)}:gone`), 1);
      const ttl = await raw.pTTL(`${key(id)}:gone`);
      assert.ok(ttl > 590_000 && ttl <= 600_000, `tombstone TTL ${ttl} ms is the absolute timeout`);
      await rejectsWith(store.setValue(id, 'k', 2), 'NOVA_ERR_SESSION_GONE');
      await store.stop();
    });

    it('writes nothing for an id that never held data', async () => {
      const store = redisStore({ url, prefix });
      await store.start(options);
      const id = generateSessionId();
      await store.getValue(id, 'k');
      await store.deleteValue(id);
      await store.rotate(id, generateSessionId());
      assert.equal(await raw.exists([key(id), `${key(id)}:gone`]), 0);
      await store.stop();
    });

    it('keeps the tombstone when Redis expires an idle session by itself', async () => {
      const store = redisStore({ url, prefix });
      await store.start({ ...options, idleTimeoutMs: 200, touchIntervalMs: 50, absoluteTimeoutMs: 5000 });
      const id = generateSessionId();
      await store.setValue(id, 'k', 1);
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal(await raw.exists(key(id)), 0, 'Redis removed the hash');
      await rejectsWith(store.setValue(id, 'k', 2), 'NOVA_ERR_SESSION_GONE');
      await store.stop();
    });

    it('works again after SCRIPT FLUSH (falls back to EVAL)', async () => {
      const store = redisStore({ url, prefix });
      await store.start(options);
      const id = generateSessionId();
      await store.setValue(id, 'k', 1);
      await raw.scriptFlush();
      assert.equal(await store.getValue(id, 'k'), 1);
      await store.stop();
    });

    it('rotates atomically: the new hash keeps the creation time, the old id is a tombstone', async () => {
      const store = redisStore({ url, prefix });
      await store.start(options);
      const [o, n] = [generateSessionId(), generateSessionId()];
      await store.setValue(o, 'k', 1);
      const created = await raw.hGet(key(o), 'm:c');
      await store.rotate(o, n);
      assert.equal(await raw.hGet(key(n), 'm:c'), created);
      assert.equal(await raw.exists(key(o)), 0);
      assert.equal(await raw.exists(`${key(o)}:gone`), 1);
      assert.ok((await raw.pTTL(key(n))) > 0);
      await store.stop();
    });

    it('rotates in steps: the old id ends as a tombstone "moved to" the new one, without the moving mark', async () => {
      const store = redisStore({ url, prefix });
      await store.start(options);
      const [o, n] = [generateSessionId(), generateSessionId()];
      await store.setValue(o, 'k', 1);
      await store.rotate(o, n);
      assert.equal(await raw.get(`${key(o)}:gone`), `m${hashSessionId(n)}`);
      const fields = Object.keys(await raw.hGetAll(key(n)));
      assert.ok(!fields.includes('m:m') && !fields.includes('m:w'), fields.join());
      await store.stop();
    });

    it('holds a write that meets a rotation in progress and lands it on the new id; a write after the rotation is refused', async () => {
      const store = redisStore({ url, prefix });
      await store.start(options);
      const [o, n] = [generateSessionId(), generateSessionId()];
      await store.setValue(o, 'k', 1);
      // Step 1 of a rotation by another process: the session is marked moving to n.
      const N = hashSessionId(n);
      await raw.hSet(key(o), { 'm:m': N, 'm:w': String(Date.now()) });
      let settled = false;
      const late = store.setValue(o, 'late', 2).finally(() => {
        settled = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(settled, false, 'the write waits while the session moves');
      assert.strictEqual(await raw.hGet(key(o), 'k:late'), null, 'nothing written to the old id');
      // Steps 2 and 3: the copy made, the old id sealed as moved to n.
      const copy = await raw.hGetAll(key(o));
      delete copy['m:m'];
      delete copy['m:w'];
      await raw.hSet(key(n), copy);
      await raw.pExpire(key(n), 60_000);
      await raw.del(key(o));
      await raw.set(`${key(o)}:gone`, `m${N}`, { PX: 600_000 });
      await late;
      assert.equal(await store.getValue(n, 'late'), 2, 'the held write landed on the new id');
      assert.equal(await store.getValue(n, 'k'), 1);
      await rejectsWith(store.setValue(o, 'after', 3), 'NOVA_ERR_SESSION_GONE');
      assert.equal(await raw.exists(key(o)), 0, 'the old id was not recreated');
      await store.stop();
    });

    it('refuses an oversized first write without writing anything', async () => {
      const store = redisStore({ url, prefix });
      await store.start(options);
      const id = generateSessionId();
      await rejectsWith(store.setValue(id, '', 'x'.repeat(5000)), 'NOVA_ERR_SESSION_TOO_LARGE');
      assert.equal(await raw.exists([key(id), `${key(id)}:gone`]), 0);
      await store.stop();
    });
  });

  describe('redis store: failure', () => {
    it('start() against a closed port fails fast with NOVA_ERR_SESSION_STORE_UNAVAILABLE, naming no password', async () => {
      const store = redisStore({ url: 'redis://user:s3cret@127.0.0.1:1', prefix });
      const began = Date.now();
      await assert.rejects(store.start(options), (err: { code?: string; status?: number; message?: string }) => {
        assert.equal(err.code, 'NOVA_ERR_SESSION_STORE_UNAVAILABLE');
        assert.equal(err.status, 503);
        assert.match(err.message ?? '', /127\.0\.0\.1:1/);
        assert.doesNotMatch(err.message ?? '', /s3cret/);
        return true;
      });
      assert.ok(Date.now() - began < 5000, 'failed within 5 s');
    });

    const hasServer = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;
    const serverSkip = hasServer || process.env.CI === 'true' ? false : 'redis-server is not installed';
    it('fails fast with 503 while its own redis-server is down or hung, and recovers by itself', { skip: serverSkip }, async () => {
      assert.ok(hasServer, 'redis-server must be installed under CI');
      const port = await freePort();
      let server = await startServer(port);
      const store = redisStore({ url: `redis://127.0.0.1:${port}`, prefix, commandTimeoutMs: 300 });
      try {
        await store.start(options);
        const id = generateSessionId();
        await store.setValue(id, 'k', 1);
        server.kill('SIGSTOP'); // hung: the command is written but never answered
        let began = Date.now();
        await rejectsWith(store.getValue(id, 'k'), 'NOVA_ERR_SESSION_STORE_UNAVAILABLE');
        assert.ok(Date.now() - began < 1000, 'a hung server costs one command timeout');
        server.kill('SIGCONT');
        assert.equal(await store.getValue(id, 'k'), 1);
        await stopServer(server); // down: the connection is closed
        began = Date.now();
        await rejectsWith(store.getValue(id, 'k'), 'NOVA_ERR_SESSION_STORE_UNAVAILABLE');
        await rejectsWith(store.setValue(id, 'k', 2), 'NOVA_ERR_SESSION_STORE_UNAVAILABLE');
        assert.ok(Date.now() - began < 1000, 'calls fail at once while disconnected');
        server = await startServer(port); // back (empty: the test server keeps no data)
        const until = Date.now() + 5000;
        for (;;) {
          try {
            await store.setValue(generateSessionId(), 'k', 'back');
            break;
          } catch (err) {
            if (Date.now() > until) throw err;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      } finally {
        await store.stop();
        server.kill('SIGCONT');
        await stopServer(server);
      }
    });

    it('calls after stop() fail as unavailable', async () => {
      const store = redisStore({ url, prefix });
      await store.start(options);
      await store.stop();
      await rejectsWith(store.getValue(generateSessionId(), 'k'), 'NOVA_ERR_SESSION_STORE_UNAVAILABLE');
    });
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A throwaway redis-server on `port`, without persistence; resolves once it answers. */
async function startServer(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const until = Date.now() + 5000;
  for (;;) {
    const probe = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false } });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.close();
      return child;
    } catch (err) {
      if (Date.now() > until) {
        child.kill();
        throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
