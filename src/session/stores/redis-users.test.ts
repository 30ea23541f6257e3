/**
 * The Redis store's hashing at rest, per-user keys and expiry reports, against the real Redis at
 * REDIS_URL (default redis://127.0.0.1:6379). When Redis cannot be reached these tests fail under
 * CI (CI=true) and are skipped elsewhere.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { rejectsWith } from '../../testing/session-store.lifecycle.js';
import { generateSessionId } from '../id.js';
import { hashSessionId } from '../id-hash.js';
import type { SessionStoreOptions } from '../store.js';
import { redisStore } from './redis.js';
import { whenRedis } from '../../../test/helpers/redis-gate.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `nova-test:${randomUUID()}:`;
const options: SessionStoreOptions = {
  idleTimeoutMs: 60_000,
  absoluteTimeoutMs: 600_000,
  touchIntervalMs: 5_000,
  maxSessionBytes: 1024,
  maxSessions: 100,
};
const MARGIN = 60_000;

const key = (id: string) => `${prefix}{${hashSessionId(id)}}`;
const tagOf = (userId: string) => createHash('sha256').update(userId).digest('base64url');
const userKey = (userId: string, part: 's' | 'h' | 'r') => `${prefix}u:{${tagOf(userId)}}:${part}`;
/** The Redis Cluster hash tag of a key: what lies between its first `{` and the next `}`. */
const hashTag = (k: string) => /\{([^}]+)\}/.exec(k)?.[1];
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let users = 0;
const user = (name: string) => `${name}-${process.pid}-${++users}`;

await whenRedis(url, () => {
  const raw = createClient({ url });
  raw.on('error', () => {});

  /** Every key under the prefix with everything it holds, as text. */
  async function dump(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for await (const keys of raw.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      for (const k of keys) {
        const type = await raw.type(k);
        if (type === 'hash') out.set(k, JSON.stringify(await raw.hGetAll(k)));
        else if (type === 'string') out.set(k, String(await raw.get(k)));
        else if (type === 'zset') out.set(k, JSON.stringify(await raw.zRangeWithScores(k, 0, -1)));
        else out.set(k, `unexpected type ${type}`);
      }
    }
    return out;
  }

  before(async () => {
    await raw.connect();
  });
  after(async () => {
    for await (const keys of raw.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await raw.del(keys);
    }
    await raw.close();
  });

  describe('redis store: ids hashed at rest, per-user keys', () => {
    it('never writes or sends a raw id: not in any key, value or MONITOR line', async () => {
      const monitor = createClient({ url });
      monitor.on('error', () => {});
      await monitor.connect();
      const lines: string[] = [];
      await monitor.monitor((line) => lines.push(String(line)));
      const store = redisStore({ url, prefix });
      await store.start(options);
      const [a, b, c, d] = [generateSessionId(), generateSessionId(), generateSessionId(), generateSessionId()];
      const ada = user('ada');
      try {
        await store.setValue(a, 'cart', [1]);
        await store.bindUser(a, ada, { userAgent: 'Firefox/140', ip: '203.0.113.7' });
        await store.rotate(a, b);
        await store.setValue(b, 'flash', 'saved');
        assert.equal(await store.takeValue(b, 'flash'), 'saved');
        assert.deepEqual(await store.getValue(b, 'cart'), [1]);
        const keep = (await store.userOf(b))!.handle;
        await store.setValue(c, 'k', 1);
        const other = await store.bindUser(c, ada, {});
        await store.setValue(d, 'k', 1);
        await store.bindUser(d, ada, {});
        assert.equal((await store.listUserSessions(ada)).length, 3);
        assert.equal(await store.revokeUserSession(ada, other), true);
        assert.equal(await store.revokeUserSessions(ada, keep), 1);
        await store.deleteValue(b, 'cart');
        const stored = await dump();
        await store.deleteValue(b);
        for (const [k, v] of await dump()) stored.set(k, v);
        await pause(100); // let the last MONITOR lines arrive
        assert.ok(stored.has(key(b)) && stored.has(`${key(a)}:gone`), 'the dump holds the sessions, by hash');
        assert.ok(
          lines.some((l) => l.includes(hashSessionId(a))),
          'MONITOR saw the commands, with hashed ids',
        );
        for (const [label, id] of Object.entries({ a, b, c, d })) {
          for (const [k, v] of stored) {
            assert.ok(!k.includes(id), `key ${k} holds raw id ${label}`);
            assert.ok(!v.includes(id), `value of ${k} holds raw id ${label}`);
          }
          assert.deepEqual(
            lines.filter((l) => l.includes(id)),
            [],
            `MONITOR shows raw id ${label}`,
          );
        }
      } finally {
        await store.stop();
        await monitor.close();
      }
    });

    it("puts all keys of one session under its hash tag, and a user's keys under another", async () => {
      const store = redisStore({ url, prefix });
      await store.start(options);
      const [s, t] = [generateSessionId(), generateSessionId()];
      const ada = user('ada{odd}');
      await store.setValue(s, 'k', 1);
      await store.bindUser(s, ada, {});
      await store.setValue(t, 'k', 1);
      await store.bindUser(t, ada, {});
      await store.revokeUserSessions(ada, (await store.userOf(t))!.handle);
      const keys = [...(await dump()).keys()];
      const ofSession = keys.filter((k) => k.includes(hashSessionId(s)));
      assert.deepEqual(ofSession.sort(), [`${key(s)}:gone`]);
      assert.deepEqual(keys.filter((k) => k.includes(hashSessionId(t))).sort(), [key(t), `${key(t)}:gone`]);
      for (const k of [key(t), `${key(t)}:gone`]) assert.equal(hashTag(k), hashSessionId(t));
      const ofUser = keys.filter((k) => k.includes(tagOf(ada))).sort();
      assert.deepEqual(ofUser, [userKey(ada, 'h'), userKey(ada, 'r'), userKey(ada, 's')]);
      for (const k of ofUser) assert.equal(hashTag(k), tagOf(ada), `${k} is in the user's slot`);
      await store.stop();
    });

    it('records the binding in the session hash and the index by handle', async () => {
      const store = redisStore({ url, prefix });
      await store.start(options);
      const s = generateSessionId();
      const ada = user('ada');
      await store.setValue(s, 'k', 1);
      const handle = await store.bindUser(s, ada, { userAgent: 'ua', ip: '198.51.100.1' });
      const hash = await raw.hGetAll(key(s));
      assert.equal(hash['m:u'], ada);
      assert.equal(hash['m:g'], tagOf(ada));
      assert.equal(hash['m:h'], handle);
      assert.equal(hash['m:a'], 'ua');
      assert.equal(hash['m:i'], '198.51.100.1');
      assert.ok(Number(hash['m:t']) >= Number(hash['m:c']), 'bound at or after creation');
      assert.deepEqual(await raw.zRangeWithScores(userKey(ada, 's'), 0, -1), [{ value: handle, score: Number(hash['m:c']) }]);
      assert.deepEqual({ ...(await raw.hGetAll(userKey(ada, 'h'))) }, { [handle]: hashSessionId(s) });
      await store.stop();
    });

    it("gives a user's keys a TTL: the index absoluteTimeoutMs past the latest bind, the stamp absoluteTimeoutMs", async () => {
      const store = redisStore({ url, prefix });
      await store.start(options);
      const s = generateSessionId();
      const ada = user('ada');
      await store.bindUser(s, ada, {});
      for (const part of ['s', 'h'] as const) {
        const ttl = await raw.pTTL(userKey(ada, part));
        assert.ok(ttl > options.absoluteTimeoutMs && ttl <= options.absoluteTimeoutMs + MARGIN, `${part}: TTL ${ttl} ms`);
      }
      await store.revokeUserSessions(ada);
      const ttl = await raw.pTTL(userKey(ada, 'r'));
      assert.ok(ttl > options.absoluteTimeoutMs && ttl <= options.absoluteTimeoutMs + MARGIN, `stamp TTL ${ttl} ms`);
      await store.stop();
    });

    it('ends a session whose bind is still pending when its handle is revoked (index written, binding not yet)', async () => {
      const store = redisStore({ url, prefix });
      await store.start(options);
      const s = generateSessionId();
      const ada = user('ada');
      await store.setValue(s, 'k', 1);
      // Bind's first two steps by hand: the handle marked pending on the session, and indexed.
      const handle = 'pending-handle-123456';
      await raw.hSet(key(s), 'm:p', handle);
      await raw.zAdd(userKey(ada, 's'), { score: Date.now(), value: handle });
      await raw.hSet(userKey(ada, 'h'), handle, hashSessionId(s));
      assert.deepStrictEqual(
        (await store.listUserSessions(ada)).map((x) => x.handle),
        [handle],
        'listed while pending',
      );
      assert.equal(await store.revokeUserSession(ada, handle), true);
      assert.strictEqual(await store.getValue(s, 'k'), undefined);
      await rejectsWith(store.setValue(s, 'k', 2), 'NOVA_ERR_SESSION_GONE');
      await store.stop();
    });

    it('never leaves a session bound but out of the index when a login races a revoke-all', async () => {
      const store = redisStore({ url, prefix });
      await store.start(options);
      for (let round = 0; round < 40; round++) {
        const s = generateSessionId();
        const ada = user('ada');
        await store.setValue(s, 'k', round);
        const [bound] = await Promise.allSettled([store.bindUser(s, ada, {}), pause(round % 4).then(() => store.revokeUserSessions(ada))]);
        const alive = (await store.getValue(s, 'k')) !== undefined;
        const listed = (await store.listUserSessions(ada)).length === 1;
        assert.equal(alive, listed, `round ${round}: alive ${alive}, listed ${listed}, bind ${bound.status}`);
        if (alive) assert.equal(bound.status, 'fulfilled');
      }
      await store.stop();
    });

    it('keeps a login made after a revoke-all on a node whose clock runs behind the revoking one', async () => {
      const ahead = redisStore({ url, prefix });
      const behind = redisStore({ url, prefix });
      const t = Date.now();
      await ahead.start({ ...options, now: () => t + 2000 });
      await behind.start({ ...options, now: () => t });
      try {
        const ada = user('ada');
        const old = generateSessionId();
        await behind.setValue(old, 'k', 1);
        await behind.bindUser(old, ada, {});
        assert.equal(await ahead.revokeUserSessions(ada), 1);
        const login = generateSessionId();
        await behind.setValue(login, 'k', 2);
        await behind.bindUser(login, ada, {});
        assert.equal(await behind.getValue(login, 'k'), 2, 'the new login is not caught by a stamp from the future');
        assert.equal((await behind.listUserSessions(ada)).length, 1);
        assert.strictEqual(await behind.getValue(old, 'k'), undefined);
      } finally {
        await Promise.all([ahead.stop(), behind.stop()]);
      }
    });

    it('drops sessions Redis expired from the index when the index is walked', async () => {
      const store = redisStore({ url, prefix });
      await store.start({ ...options, idleTimeoutMs: 400, touchIntervalMs: 100, absoluteTimeoutMs: 5000 });
      const [s, t] = [generateSessionId(), generateSessionId()];
      const ada = user('ada');
      await store.bindUser(s, ada, {});
      await pause(250);
      await store.bindUser(t, ada, {});
      await pause(250); // s is past its idle timeout, t is not
      assert.equal(await raw.zCard(userKey(ada, 's')), 2, 'Redis left the index alone');
      assert.equal((await store.listUserSessions(ada)).length, 1);
      assert.equal(await raw.zCard(userKey(ada, 's')), 1);
      assert.equal(await raw.hLen(userKey(ada, 'h')), 1);
      await store.stop();
    });

    it('refuses a prefix holding a brace', () => {
      for (const bad of ['app{1}:', 'app{', 'app}']) {
        assert.throws(
          () => redisStore({ url, prefix: bad }),
          (err: { code?: string }) => err.code === 'NOVA_ERR_CONFIG',
          bad,
        );
      }
    });

    it('does not find a session stored under its raw id (the layout before hashing)', async () => {
      const store = redisStore({ url, prefix });
      await store.start(options);
      const s = generateSessionId();
      await raw.hSet(prefix + s, { 'm:c': String(Date.now()), 'm:s': String(Date.now()), 'm:b': '4', 'k:k': '1' });
      assert.strictEqual(await store.getValue(s, 'k'), undefined);
      await store.setValue(s, 'k', 2); // a fresh session, not a tombstone
      assert.equal(await store.getValue(s, 'k'), 2);
      await store.stop();
    });
  });

  describe('redis store: onExpired', () => {
    it('reports, once, a session Redis expired by itself, when its id comes back', async () => {
      const seen: [string, string | undefined][] = [];
      const store = redisStore({ url, prefix });
      await store.start({ ...options, idleTimeoutMs: 200, touchIntervalMs: 50, absoluteTimeoutMs: 5000, onExpired: (h, u) => seen.push([h, u]) });
      const [s, t] = [generateSessionId(), generateSessionId()];
      const ada = user('ada');
      await store.setValue(s, 'k', 1);
      await store.bindUser(s, ada, {});
      await store.setValue(t, 'k', 1);
      await pause(400);
      assert.equal(await raw.exists(key(s)), 0, 'Redis removed the hash');
      assert.deepEqual(seen, [], 'Redis expires silently');
      assert.strictEqual(await store.getValue(s, 'k'), undefined);
      assert.strictEqual(await store.getValue(s, 'k'), undefined);
      await rejectsWith(store.setValue(t, 'k', 2), 'NOVA_ERR_SESSION_GONE');
      assert.deepEqual(seen, [
        [hashSessionId(s), ada],
        [hashSessionId(t), undefined],
      ]);
      await store.stop();
    });

    it('reports a session found past its deadline by the stored timestamps', async () => {
      const seen: [string, string | undefined][] = [];
      let now = Date.now();
      const store = redisStore({ url, prefix });
      await store.start({ ...options, now: () => now, onExpired: (h, u) => seen.push([h, u]) });
      const s = generateSessionId();
      const ada = user('ada');
      await store.setValue(s, 'k', 1);
      await store.bindUser(s, ada, {});
      now += options.idleTimeoutMs + 1; // Redis's own TTL is still a minute away
      assert.strictEqual(await store.getValue(s, 'k'), undefined);
      assert.deepEqual(seen, [[hashSessionId(s), ada]]);
      assert.deepEqual(await store.listUserSessions(ada), []);
      assert.equal(await raw.exists(userKey(ada, 's')), 0, 'and the index let it go');
      await store.stop();
    });

    it('does not report logout or revocation, and survives a hook that throws', async () => {
      let calls = 0;
      const store = redisStore({ url, prefix });
      await store.start({
        ...options,
        idleTimeoutMs: 200,
        touchIntervalMs: 50,
        absoluteTimeoutMs: 5000,
        onExpired: () => {
          calls++;
          throw new Error('hook failed');
        },
      });
      const [out, revoked, idle] = [generateSessionId(), generateSessionId(), generateSessionId()];
      const ada = user('ada');
      for (const s of [out, revoked, idle]) await store.setValue(s, 'k', 1);
      await store.bindUser(revoked, ada, {});
      await store.deleteValue(out);
      await store.revokeUserSessions(ada);
      await pause(400);
      for (const s of [out, revoked]) assert.strictEqual(await store.getValue(s, 'k'), undefined);
      assert.equal(calls, 0);
      assert.strictEqual(await store.getValue(idle, 'k'), undefined, 'the read still answers');
      assert.equal(calls, 1);
      await store.stop();
    });
  });
});
