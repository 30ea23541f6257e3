/**
 * The Redis store on a real Redis Cluster (three masters with a replica each, started here): the
 * whole conformance suite, rotation across hash slots with a concurrent write to the old id, and
 * logouts that survive a failover. Without redis-server these tests fail under CI (CI=true) and
 * are skipped elsewhere.
 */
import { after, describe, it } from 'node:test';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { sessionStoreConformance } from '../../testing/session-store.suite.js';
import { rejectsWith } from '../../testing/session-store.lifecycle.js';
import { generateSessionId } from '../id.js';
import { hashSessionId } from '../id-hash.js';
import type { SessionStoreOptions } from '../store.js';
import { redisStore } from './redis.js';
import { clusterUnavailable, startRedisCluster, type RedisClusterHandle } from '../../../test/helpers/redis-cluster.js';

const prefix = `nova-test:${randomUUID()}:`;
const options: SessionStoreOptions = {
  idleTimeoutMs: 60_000,
  absoluteTimeoutMs: 600_000,
  touchIntervalMs: 5_000,
  maxSessionBytes: 1024,
  maxSessions: 100,
};
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const key = (id: string) => `${prefix}{${hashSessionId(id)}}`;

const missing = clusterUnavailable();
if (missing !== undefined) {
  it('a redis cluster can be started (required under CI)', { skip: process.env.CI === 'true' ? false : missing }, () => {
    assert.fail(`${missing}: the Redis Cluster tests cannot run`);
  });
} else {
  const cluster = await startRedisCluster();
  after(() => cluster.stop());
  registerTests(cluster);
}

function registerTests(cluster: RedisClusterHandle): void {
  sessionStoreConformance('redis cluster', () => redisStore({ url: cluster.url, prefix }), { clock: false, unitMs: 250 });

  describe('redis store on a cluster: rotation across slots', () => {
    it('rotates between ids on different masters; a concurrent write to the old id is applied to the new one or refused, never lost or resurrecting', async () => {
      const store = redisStore({ url: cluster.url, prefix });
      await store.start(options);
      const outcomes = { applied: 0, refused: 0 };
      try {
        for (let round = 0; round < 60; round++) {
          const old = generateSessionId();
          let next = generateSessionId();
          while (cluster.masterOf(key(next)) === cluster.masterOf(key(old))) next = generateSessionId();
          await store.setValue(old, 'k', round);
          const created = Date.now();
          const [rotated, wrote] = await Promise.allSettled([
            store.rotate(old, next),
            pause(round % 3 === 0 ? 0 : 1).then(() => store.setValue(old, 'late', round)),
          ]);
          assert.equal(rotated.status, 'fulfilled', `round ${round}: the rotation succeeds`);
          assert.equal(await store.getValue(next, 'k'), round, 'the data moved');
          assert.strictEqual(await store.getValue(old, 'k'), undefined, 'the old id is dead');
          if (wrote.status === 'fulfilled') {
            outcomes.applied++;
            assert.equal(await store.getValue(next, 'late'), round, `round ${round}: an acknowledged write is on the new id`);
          } else {
            outcomes.refused++;
            assert.equal((wrote.reason as { code?: string }).code, 'NOVA_ERR_SESSION_GONE', String(wrote.reason));
            assert.strictEqual(await store.getValue(next, 'late'), undefined);
          }
          // Never resurrected: the old id is still refused and holds no hash.
          await rejectsWith(store.setValue(old, 'again', 1), 'NOVA_ERR_SESSION_GONE');
          assert.strictEqual(await store.getValue(old, 'late'), undefined);
          assert.ok(created > 0);
        }
      } finally {
        await store.stop();
      }
      assert.ok(outcomes.applied > 0, `some writes landed (${JSON.stringify(outcomes)})`);
    });

    it('keeps the creation time and the binding across slots; the index follows', async () => {
      const store = redisStore({ url: cluster.url, prefix });
      await store.start(options);
      try {
        const ada = `ada-${randomUUID()}`;
        const old = generateSessionId();
        let next = generateSessionId();
        while (cluster.masterOf(key(next)) === cluster.masterOf(key(old))) next = generateSessionId();
        await store.setValue(old, 'k', 1);
        const handle = await store.bindUser(old, ada, { userAgent: 'Firefox/140' });
        const [before] = await store.listUserSessions(ada);
        await pause(5);
        await store.rotate(old, next);
        assert.deepStrictEqual(await store.userOf(next), { userId: ada, handle });
        const [after] = await store.listUserSessions(ada);
        assert.equal(after?.createdAt, before?.createdAt);
        assert.equal(after?.userAgent, 'Firefox/140');
        assert.equal(await store.revokeUserSession(ada, handle), true);
        assert.strictEqual(await store.getValue(next, 'k'), undefined);
      } finally {
        await store.stop();
      }
    });
  });

  describe('redis store on a cluster: kills wait for a replica', () => {
    it('does not acknowledge a logout while the replica of its master is stopped (503)', async () => {
      const store = redisStore({ url: cluster.url, prefix, replicaTimeoutMs: 300 });
      await store.start(options);
      const id = generateSessionId();
      await store.setValue(id, 'k', 1);
      const replica = cluster.replicaOf(cluster.masterOf(key(id)));
      const node = cluster.nodes.find((n) => n.port === replica);
      node?.process.kill('SIGSTOP');
      try {
        await rejectsWith(store.deleteValue(id), 'NOVA_ERR_SESSION_STORE_UNAVAILABLE');
      } finally {
        node?.process.kill('SIGCONT');
      }
      await store.stop();
      await cluster.waitHealthy();
    });

    it('keeps a logged-out session dead after its master is killed right after the logout and its replica promoted', async () => {
      const store = redisStore({ url: cluster.url, prefix });
      await store.start(options);
      try {
        const id = generateSessionId();
        await store.setValue(id, 'k', 1);
        const ada = `ada-${randomUUID()}`;
        await store.bindUser(id, ada, {});
        const master = cluster.masterOf(key(id));
        const replica = cluster.replicaOf(master);
        await store.deleteValue(id);
        cluster.kill(master);
        await cluster.waitHealthy(30_000);
        assert.equal(cluster.masterOf(key(id)), replica, 'the replica took over the slot');
        // The store's client finds the new master by itself; until then it answers 503.
        const deadline = Date.now() + 20_000;
        for (;;) {
          try {
            assert.strictEqual(await store.getValue(id, 'k'), undefined, 'still logged out');
            break;
          } catch (err) {
            if ((err as { code?: string }).code !== 'NOVA_ERR_SESSION_STORE_UNAVAILABLE' || Date.now() > deadline) throw err;
            await pause(200);
          }
        }
        await rejectsWith(store.setValue(id, 'k', 2), 'NOVA_ERR_SESSION_GONE');
        assert.strictEqual(await store.userOf(id), undefined);
      } finally {
        await store.stop();
      }
    });
  });

  describe('redis store on one Redis with a replica', () => {
    it('finds the replica at start and waits for it on logout (503 while it is stopped); without waitForReplicas it does not', async () => {
      const [primary, replica] = [await freePort(), await freePort()];
      // A replica's first sync writes an RDB file even with `--save ''`: into a directory of its own, not the checkout.
      const dir = mkdtempSync(join(tmpdir(), 'nova-redis-replica-'));
      const common = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
      const procs = [
        spawn('redis-server', ['--port', String(primary), ...common], { stdio: 'ignore' }),
        spawn('redis-server', ['--port', String(replica), '--replicaof', '127.0.0.1', String(primary), ...common], { stdio: 'ignore' }),
      ];
      try {
        const deadline = Date.now() + 10_000;
        while (!/connected_slaves:1/.test(cliOut(primary, 'INFO', 'replication')) || !/master_link_status:up/.test(cliOut(replica, 'INFO', 'replication'))) {
          if (Date.now() > deadline) throw new Error('the replica did not sync');
          await pause(50);
        }
        const url = `redis://127.0.0.1:${primary}`;
        const waiting = redisStore({ url, prefix, replicaTimeoutMs: 300 });
        // A loaded CI machine once took longer than 300 ms for a replica's first acknowledgement.
        const patient = redisStore({ url, prefix, replicaTimeoutMs: 10_000 });
        const notWaiting = redisStore({ url, prefix, waitForReplicas: false });
        await Promise.all([waiting.start(options), patient.start(options), notWaiting.start(options)]);
        const [a, b, c] = [generateSessionId(), generateSessionId(), generateSessionId()];
        for (const id of [a, b, c]) await waiting.setValue(id, 'k', 1);
        await patient.deleteValue(a); // the replica answers: acknowledged
        procs[1]?.kill('SIGSTOP');
        try {
          await rejectsWith(waiting.deleteValue(b), 'NOVA_ERR_SESSION_STORE_UNAVAILABLE');
          await notWaiting.deleteValue(c);
        } finally {
          procs[1]?.kill('SIGCONT');
        }
        assert.strictEqual(await waiting.getValue(b, 'k'), undefined, 'ended on the primary all the same');
        await Promise.all([waiting.stop(), patient.stop(), notWaiting.stop()]);
      } finally {
        for (const p of procs) p.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

function cliOut(port: number, ...args: string[]): string {
  return spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 5000 }).stdout ?? '';
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}
