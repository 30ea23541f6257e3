import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { sessionStoreConformance } from '../../testing/session-store.suite.js';
import { rejectsWith } from '../../testing/session-store.lifecycle.js';
import { generateSessionId } from '../id.js';
import { hashSessionId } from '../id-hash.js';
import type { SessionStoreOptions } from '../store.js';
import { memoryStore, type MemorySessionStore, type MemoryStoreTuning } from './memory.js';

sessionStoreConformance('memory', () => memoryStore());
sessionStoreConformance('memory, real time', () => memoryStore({ sweepIntervalMs: 20 }), { clock: false });

const SECOND = 1000;

/** A started memory store on a fake clock. */
async function fakeClockStore(options: Partial<SessionStoreOptions> = {}, tuning: MemoryStoreTuning = {}) {
  let t = 1_700_000_000_000;
  const store = memoryStore({ sweepIntervalMs: 1_000_000_000, ...tuning });
  await store.start({
    idleTimeoutMs: 10 * SECOND,
    absoluteTimeoutMs: 30 * SECOND,
    touchIntervalMs: SECOND,
    maxSessionBytes: 1024,
    maxSessions: 100_000,
    now: () => t,
    ...options,
  });
  return { store, advance: (ms: number) => void (t += ms) };
}

/** Resolves once `check()` holds, yielding to the event loop (and the sweeper) in between. */
async function until(check: () => boolean, what: string, limitMs = 5000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function fill(store: MemorySessionStore, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => generateSessionId());
  for (const id of ids) await store.setValue(id, 'k', 1);
  return ids;
}

describe('memory store: size cap (maxSessions)', () => {
  it('refuses new sessions when full of logged-in ones and keeps every one of them', async () => {
    const { store } = await fakeClockStore({ maxSessions: 3 });
    const ids = await fill(store, 3);
    for (const [i, id] of ids.entries()) await store.bindUser(id, `user${i}`, {});
    await assert.rejects(
      store.setValue(generateSessionId(), 'k', 1),
      (err: { code?: string; status?: number; message?: string }) =>
        err.code === 'NOVA_ERR_SESSION_STORE_FULL' && err.status === 503 && /\(3 sessions\)/.test(err.message ?? ''),
    );
    await rejectsWith(store.bindUser(generateSessionId(), 'user9', {}), 'NOVA_ERR_SESSION_STORE_FULL');
    for (const id of ids) assert.equal(await store.getValue(id, 'k'), 1);
    await store.setValue(ids[0]!, 'more', 2); // existing sessions can still be written
    assert.equal(store.liveSessions, 3);
    await store.stop();
  });

  it('makes room for a new session by evicting the oldest one tied to no user', async () => {
    const { store, advance } = await fakeClockStore({ maxSessions: 3 });
    const [first, second, third] = await fill(store, 3);
    await store.bindUser(first!, 'ada', {}); // the oldest, but logged in: never evicted
    advance(10);
    const next = generateSessionId();
    await store.setValue(next, 'k', 1);
    assert.equal(await store.getValue(second!, 'k'), undefined, 'the oldest anonymous session went');
    for (const id of [first!, third!, next]) assert.equal(await store.getValue(id, 'k'), 1);
    assert.equal(store.liveSessions, 3);
    assert.equal(store.evictions, 1);
    await rejectsWith(store.setValue(second!, 'k', 2), 'NOVA_ERR_SESSION_GONE'); // evicted is ended, not forgotten
    await store.stop();
  });

  it('makes room by removing expired sessions first, without waiting for the timer', async () => {
    const { store, advance } = await fakeClockStore({ maxSessions: 2 });
    await fill(store, 2);
    advance(11 * SECOND);
    await store.setValue(generateSessionId(), 'k', 1);
    assert.equal(store.liveSessions, 1);
    await store.stop();
  });

  it('bounds tombstones too: a login/logout loop cannot grow the store without limit', async () => {
    const { store } = await fakeClockStore({ maxSessions: 10 });
    for (let i = 0; i < 1000; i += 1) {
      const id = generateSessionId();
      await store.setValue(id, 'k', 1);
      if (i % 2 === 0) {
        await store.deleteValue(id); // logout
      } else {
        const next = generateSessionId(); // login (rotation), then logout
        await store.rotate(id, next);
        await store.deleteValue(next);
      }
    }
    assert.ok(store.size <= 20, `held ${store.size} ids for at most 10 live sessions`);
    const recent = generateSessionId();
    await store.setValue(recent, 'k', 1);
    await store.deleteValue(recent);
    await rejectsWith(store.setValue(recent, 'k', 1), 'NOVA_ERR_SESSION_GONE'); // the newest tombstone still holds
    await store.stop();
  });

  it('frees the slot of a logged-out session but keeps its tombstone', async () => {
    const { store } = await fakeClockStore({ maxSessions: 2 });
    const [a] = await fill(store, 2);
    await store.deleteValue(a!);
    await store.setValue(generateSessionId(), 'k', 1);
    await rejectsWith(store.setValue(a!, 'k', 1), 'NOVA_ERR_SESSION_GONE');
    await store.stop();
  });

  it('stores nothing for a refused first write', async () => {
    const { store } = await fakeClockStore();
    await rejectsWith(store.setValue(generateSessionId(), 'k', NaN), 'NOVA_ERR_SESSION_VALUE');
    await rejectsWith(store.setValue(generateSessionId(), 'k', 'x'.repeat(5000)), 'NOVA_ERR_SESSION_TOO_LARGE');
    assert.equal(store.size, 0);
    await store.stop();
  });
});

describe('memory store: sweeping', () => {
  it('removes idle-expired sessions, then their tombstones, with no reads', async () => {
    const { store, advance } = await fakeClockStore({}, { sweepIntervalMs: 5 });
    const ids = await fill(store, 1000);
    await store.rotate(ids[0]!, generateSessionId()); // one more tombstone, for the old id
    assert.equal(store.size, 1001);
    advance(11 * SECOND);
    await until(() => store.liveSessions === 0, 'idle sessions swept');
    assert.equal(store.size, 1001, 'tombstones stay for one absolute timeout');
    advance(30 * SECOND);
    await until(() => store.size === 0, 'tombstones swept');
    await store.stop();
  });

  it('removes idle-expired sessions on a clock with fractions of a millisecond, starting near 0', async () => {
    let t = 0.25; // performance.now(), say
    const store = memoryStore({ sweepIntervalMs: 5 });
    await store.start({
      idleTimeoutMs: 10 * SECOND,
      absoluteTimeoutMs: 100 * SECOND,
      touchIntervalMs: SECOND,
      maxSessionBytes: 1024,
      maxSessions: 1000,
      now: () => t,
    });
    for (let i = 0; i < 100; i++) {
      t += 0.37;
      await store.setValue(generateSessionId(), 'k', i);
    }
    t += 11 * SECOND; // past the idle timeout only: nothing but the idle sweep can end them
    await until(() => store.liveSessions === 0, 'idle sessions swept');
    await store.stop();
  });

  it('removes sessions at the absolute timeout even when they were in use', async () => {
    const { store, advance } = await fakeClockStore({ idleTimeoutMs: 20 * SECOND }, { sweepIntervalMs: 5 });
    const ids = await fill(store, 500);
    advance(15 * SECOND);
    for (const id of ids) await store.getValue(id, 'k'); // idle deadline moves to 35 s
    advance(16 * SECOND); // 31 s: past the absolute deadline only
    await until(() => store.liveSessions === 0, 'absolutely expired sessions swept');
    await store.stop();
  });

  it('sweeps a large expiry in slices, yielding to the event loop in between', async () => {
    const n = 100_000;
    const { store, advance } = await fakeClockStore({ maxSessions: n }, { sweepIntervalMs: 5, sweepBudgetMs: 1 });
    await fill(store, n);
    advance(31 * SECOND);
    const seen = new Set<number>();
    await until(
      () => {
        seen.add(store.liveSessions);
        return store.liveSessions === 0;
      },
      'all swept',
      20_000,
    );
    const partial = [...seen].filter((v) => v > 0 && v < n);
    assert.ok(partial.length >= 2, `saw intermediate counts: ${partial.length}`);
    await store.stop();
  });

  it('keeps slicing on an otherwise idle event loop, not one slice per interval tick', async () => {
    const n = 100_000;
    const { store, advance } = await fakeClockStore({ maxSessions: n }, { sweepIntervalMs: 400, sweepBudgetMs: 1 });
    await fill(store, n);
    advance(31 * SECOND);
    // One timer and nothing else: the loop sleeps in poll unless the sweeper keeps itself going.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(store.liveSessions, 0);
    await store.stop();
  });

  it('stop() clears the timers: nothing is swept afterwards, and calls fail as unavailable', async () => {
    const { store, advance } = await fakeClockStore({}, { sweepIntervalMs: 5 });
    await fill(store, 10);
    await store.stop();
    advance(100 * SECOND);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(store.size, 10);
    await assert.rejects(
      store.getValue(generateSessionId(), 'k'),
      (err: { code?: string; status?: number }) => err.code === 'NOVA_ERR_SESSION_STORE_UNAVAILABLE' && err.status === 503,
    );
  });

  it('does not keep the process alive', () => {
    const url = new URL('./memory.js', import.meta.url).href;
    const script = `import { memoryStore } from ${JSON.stringify(url)};
      const store = memoryStore({ sweepIntervalMs: 10 });
      await store.setValue('${generateSessionId()}', 'k', 1);
      console.log('stored', store.size);`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000, encoding: 'utf8' });
    assert.equal(child.error, undefined, 'the child exited on its own');
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stdout, /stored 1/);
  });
});

describe('memory store: options', () => {
  it('works before start() with the default options', async () => {
    const store = memoryStore();
    const id = generateSessionId();
    await store.setValue(id, 'k', 'v');
    assert.equal(await store.getValue(id, 'k'), 'v');
    await store.stop();
  });

  it('refuses bad options', async () => {
    const base = { idleTimeoutMs: 10, absoluteTimeoutMs: 30, touchIntervalMs: 3, maxSessionBytes: 10, maxSessions: 10 };
    for (const bad of [{ touchIntervalMs: 10 }, { idleTimeoutMs: -1 }, { maxSessions: 1.5 }, { maxSessionBytes: NaN }]) {
      await rejectsWith(memoryStore().start({ ...base, ...bad }), 'NOVA_ERR_CONFIG');
    }
    assert.throws(
      () => memoryStore({ sweepBudgetMs: 0 }),
      (err: { code?: string }) => err.code === 'NOVA_ERR_CONFIG',
    );
  });
});

/** The store's user index, reached past `private` to fake what cannot happen here (see the test). */
function hideFromIndex(store: MemorySessionStore, userId: string, handle: string): void {
  type Listed = { bound?: { handle: string } };
  const index = (store as unknown as { index: { record(u: string): { sessions: Listed[] } | undefined } }).index;
  const sessions = index.record(userId)?.sessions ?? [];
  const at = sessions.findIndex((e) => e.bound?.handle === handle);
  assert.ok(at !== -1, 'the session was listed');
  sessions.splice(at, 1);
}

describe('memory store: sessions per user', () => {
  it('forgets users after 10,000 logins and logouts', async () => {
    const { store } = await fakeClockStore({ maxSessions: 10 });
    for (let i = 0; i < 10_000; i++) {
      const id = generateSessionId();
      await store.setValue(id, 'k', 1);
      await store.bindUser(id, `user-${i % 7}`, { userAgent: 'ua' });
      if (i % 2 === 0)
        await store.deleteValue(id); // logout
      else {
        const next = generateSessionId(); // rotation, then logout
        await store.rotate(id, next);
        await store.deleteValue(next);
      }
      assert.ok(store.users <= 1, `iteration ${i}: ${store.users} users`);
    }
    assert.equal(store.users, 0);
    assert.equal(store.liveSessions, 0);
    assert.ok(store.size <= 20, `held ${store.size} ids`);
    await store.stop();
  });

  it('forgets users whose sessions expire, over 10,000 logins', async () => {
    const { store, advance } = await fakeClockStore({ maxSessions: 10 }, { sweepIntervalMs: 5 });
    for (let i = 0; i < 10_000; i++) {
      await store.bindUser(generateSessionId(), `user-${i}`, {}); // a full store sweeps before refusing
      advance(SECOND + 1);
      assert.ok(store.users <= 10, `iteration ${i}: ${store.users} users`);
    }
    advance(31 * SECOND);
    await until(() => store.users === 0 && store.liveSessions === 0, 'expired users swept');
    assert.ok(store.size <= 20, `held ${store.size} ids`);
    await store.stop();
  });

  it('keeps a revoked user only while the stamp counts, then the sweeper forgets it', async () => {
    const { store, advance } = await fakeClockStore({}, { sweepIntervalMs: 5 });
    let most = 0;
    for (let i = 0; i < 10_000; i++) {
      await store.bindUser(generateSessionId(), `user-${i}`, {});
      assert.equal(await store.revokeUserSessions(`user-${i}`), 1);
      advance(SECOND);
      if (i % 500 === 499) await new Promise((resolve) => setTimeout(resolve, 30)); // let the sweeper run
      most = Math.max(most, store.users);
    }
    assert.ok(most <= 500 + 31, `at most ${most} users held`); // the last 30 s of stamps, plus one slice
    assert.equal(await store.revokeUserSessions('never-logged-in'), 0);
    advance(31 * SECOND);
    await until(() => store.users === 0, 'stamps forgotten');
    await store.stop();
  });

  it('reads a session bound before a revoke-all as gone even when the index missed it', async () => {
    // The memory index is exact and a bind is one synchronous step, so no session of a user is
    // ever missing from it; the test hides one by hand to check that reads also check the stamp.
    const { store, advance } = await fakeClockStore();
    const [hidden, listed] = [generateSessionId(), generateSessionId()];
    await store.setValue(hidden, 'k', 1);
    const handle = await store.bindUser(hidden, 'ada', {});
    await store.bindUser(listed, 'ada', {});
    hideFromIndex(store, 'ada', handle);
    advance(SECOND);
    assert.equal(await store.revokeUserSessions('ada'), 1, 'only the listed session was found');
    assert.strictEqual(await store.getValue(hidden, 'k'), undefined);
    assert.strictEqual(await store.userOf(hidden), undefined);
    await rejectsWith(store.setValue(hidden, 'k', 2), 'NOVA_ERR_SESSION_GONE');
    assert.equal(store.liveSessions, 0);
    await store.stop();
  });

  it('lets a login after a revoke-all live even when the clock stepped back', async () => {
    const { store, advance } = await fakeClockStore();
    await store.bindUser(generateSessionId(), 'ada', {});
    await store.revokeUserSessions('ada');
    advance(-5 * SECOND);
    const id = generateSessionId();
    await store.setValue(id, 'k', 1);
    const handle = await store.bindUser(id, 'ada', {});
    assert.equal(await store.getValue(id, 'k'), 1);
    assert.deepStrictEqual(await store.userOf(id), { userId: 'ada', handle });
    await store.stop();
  });

  it('moves the user record along with a rebinding and cuts long user agents', async () => {
    const { store } = await fakeClockStore();
    const id = generateSessionId();
    await store.bindUser(id, 'ada', { userAgent: 'x'.repeat(300), ip: '192.0.2.1' });
    assert.equal(store.users, 1);
    await store.bindUser(id, 'bob', { userAgent: 'y'.repeat(300) });
    assert.equal(store.users, 1, 'ada had no other session');
    const [info] = await store.listUserSessions('bob');
    assert.equal(info?.userAgent, 'y'.repeat(256));
    assert.strictEqual(info?.ip, undefined, 'the new binding replaced the old metadata');
    await store.stop();
  });

  it('counts takeValue and userOf as use, sliding the idle timeout', async () => {
    const { store, advance } = await fakeClockStore();
    const [a, b] = [generateSessionId(), generateSessionId()];
    await store.setValue(a, 'k', 1);
    await store.bindUser(b, 'ada', {});
    await store.setValue(b, 'k', 1);
    advance(8 * SECOND);
    assert.strictEqual(await store.takeValue(a, 'flash'), undefined);
    assert.ok(await store.userOf(b));
    advance(8 * SECOND); // 16 s after the last write, 8 after the take and the userOf
    assert.equal(await store.getValue(a, 'k'), 1);
    assert.equal(await store.getValue(b, 'k'), 1);
    await store.stop();
  });
});

describe('memory store: onExpired', () => {
  it('reports a session expired on read, by hashed id and user, and nothing for logouts or revokes', async () => {
    const calls: [string, string | undefined][] = [];
    const { store, advance } = await fakeClockStore({ onExpired: (hash, user) => void calls.push([hash, user]) });
    const [bound, anon, out, revoked] = [generateSessionId(), generateSessionId(), generateSessionId(), generateSessionId()];
    await store.bindUser(bound, 'ada', {});
    await store.setValue(anon, 'k', 1);
    await store.setValue(out, 'k', 1);
    await store.deleteValue(out);
    const handle = await store.bindUser(revoked, 'bob', {});
    await store.revokeUserSession('bob', handle);
    assert.equal(calls.length, 0, 'nothing reported for a logout or a revoke');
    advance(11 * SECOND);
    assert.strictEqual(await store.getValue(bound, 'k'), undefined);
    assert.strictEqual(await store.takeValue(anon, 'k'), undefined);
    assert.deepStrictEqual(calls, [
      [hashSessionId(bound), 'ada'],
      [hashSessionId(anon), undefined],
    ]);
    assert.ok(
      calls.every(([hash]) => hash !== bound && hash !== anon),
      'never the raw id',
    );
    await store.getValue(bound, 'k');
    assert.equal(calls.length, 2, 'reported once');
    await store.stop();
  });

  it('reports sessions the sweeper expires, under their id after a rotation', async () => {
    const calls: [string, string | undefined][] = [];
    const { store, advance } = await fakeClockStore({ onExpired: (hash, user) => void calls.push([hash, user]) }, { sweepIntervalMs: 5 });
    const [first, rotated, other] = [generateSessionId(), generateSessionId(), generateSessionId()];
    await store.bindUser(first, 'ada', {});
    await store.rotate(first, rotated);
    await store.setValue(other, 'k', 1);
    advance(31 * SECOND);
    await until(() => calls.length === 2, 'the sweeper reported both');
    assert.deepStrictEqual(
      new Map(calls),
      new Map([
        [hashSessionId(rotated), 'ada'],
        [hashSessionId(other), undefined],
      ]),
    );
    assert.equal(store.users, 0);
    await store.stop();
  });

  it('survives a hook that throws, on reads and in the sweeper', async () => {
    let calls = 0;
    const onExpired = () => {
      calls++;
      throw new Error('listener bug');
    };
    const { store, advance } = await fakeClockStore({ onExpired }, { sweepIntervalMs: 5 });
    const ids = await fill(store, 100);
    advance(11 * SECOND);
    assert.strictEqual(await store.getValue(ids[0]!, 'k'), undefined);
    await rejectsWith(store.setValue(ids[1]!, 'k', 2), 'NOVA_ERR_SESSION_GONE');
    await until(() => store.liveSessions === 0, 'the sweeper carried on past the throwing hook');
    assert.equal(calls, 100);
    const fresh = generateSessionId();
    await store.setValue(fresh, 'k', 1);
    assert.equal(await store.getValue(fresh, 'k'), 1);
    await store.stop();
  });
});
