/**
 * The conformance tests for sessions per user (`SessionUserIndex`) and the atomic take
 * (`SessionTake`), registered by `sessionStoreConformance` on every store.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hashSessionId } from '../session/id-hash.js';
import type { SessionStore } from '../session/store.js';
import type { SessionTake, SessionUserIndex } from '../session/users.js';
import { rejectsWith, UNITS } from './session-store.lifecycle.js';
import type { Group, WithStore } from './session-store.suite.js';

const GONE = 'NOVA_ERR_SESSION_GONE';
type Full = SessionStore & SessionUserIndex & SessionTake;

function full(store: SessionStore): Full {
  for (const name of ['bindUser', 'userOf', 'listUserSessions', 'revokeUserSession', 'revokeUserSessions', 'takeValue'] as const) {
    assert.equal(typeof store[name], 'function', `the store implements ${name}()`);
  }
  return store as Full;
}

/** A real pause as well as a step of the store's clock, so creation times differ in every mode. */
async function step(h: { advance(units: number): Promise<void> }): Promise<void> {
  await h.advance(1);
  await new Promise((resolve) => setTimeout(resolve, 3));
}

/** Each test gets its own user ids, so stores shared between tests (a Redis, a database) never mix them. */
let users = 0;
const user = (name: string) => `${name}-${process.pid}-${Date.now().toString(36)}-${++users}`;

/**
 * Register the per-user index tests.
 *
 * @example
 * ```ts
 * describe('my store', () => userIndexTests(withStore, { concurrency: false }));
 * ```
 */
export function userIndexTests(withStore: WithStore, group: Group): void {
  describe('sessions per user', group, () => {
    it(
      'binds a session to a user and lists it with its metadata under an opaque handle',
      withStore(async (h) => {
        const store = full(h.store);
        const [s, ada] = [h.id(), user('ada')];
        await store.setValue(s, 'username', 'ada');
        const handle = await store.bindUser(s, ada, { userAgent: 'Firefox/140', ip: '203.0.113.7' });
        assert.equal(typeof handle, 'string');
        assert.ok(handle.length >= 16, 'a handle has at least 96 bits');
        for (const secret of [s, hashSessionId(s)])
          assert.ok(!handle.includes(secret) && !secret.includes(handle), 'the handle is neither the id nor its hash');
        assert.deepStrictEqual(await store.userOf(s), { userId: ada, handle });
        const list = await store.listUserSessions(ada);
        assert.equal(list.length, 1);
        const [info] = list;
        assert.equal(info?.handle, handle);
        assert.equal(info?.userAgent, 'Firefox/140');
        assert.equal(info?.ip, '203.0.113.7');
        assert.ok(typeof info?.createdAt === 'number' && info.createdAt > 0);
        assert.ok(typeof info?.lastSeenAt === 'number' && info.lastSeenAt >= info.createdAt);
        assert.equal(await store.getValue(s, 'username'), 'ada', 'binding keeps the data');
      }),
    );

    it(
      'lists exactly the sessions of the user asked about, oldest first',
      withStore(async (h) => {
        const store = full(h.store);
        const [ada, bob] = [user('ada'), user('bob')];
        const handles: string[] = [];
        for (let i = 0; i < 3; i++) {
          const s = h.id();
          await store.setValue(s, 'n', i);
          handles.push(await store.bindUser(s, ada, { userAgent: `client ${i}` }));
          await step(h);
        }
        const other = h.id();
        await store.setValue(other, 'n', 9);
        await store.bindUser(other, bob, {});
        const list = await store.listUserSessions(ada);
        assert.deepStrictEqual(
          list.map((x) => x.handle),
          handles,
        );
        assert.deepStrictEqual(
          list.map((x) => x.userAgent),
          ['client 0', 'client 1', 'client 2'],
        );
        assert.equal((await store.listUserSessions(bob)).length, 1);
        assert.deepStrictEqual(await store.listUserSessions(user('nobody')), []);
      }),
    );

    it(
      'creates the session on bind, refuses a dead id, and refuses a bad user id',
      withStore(async (h) => {
        const store = full(h.store);
        const ada = user('ada');
        const fresh = h.id();
        const handle = await store.bindUser(fresh, ada, {});
        assert.deepStrictEqual(await store.userOf(fresh), { userId: ada, handle });
        await store.setValue(fresh, 'k', 1);
        assert.equal(await store.getValue(fresh, 'k'), 1);
        const dead = h.id();
        await store.setValue(dead, 'k', 1);
        await store.deleteValue(dead);
        await rejectsWith(store.bindUser(dead, ada, {}), GONE);
        assert.equal((await store.listUserSessions(ada)).length, 1);
        await rejectsWith(store.bindUser(h.id(), '', {}), 'NOVA_ERR_SESSION_USER');
        await rejectsWith(store.bindUser(h.id(), 'x'.repeat(257), {}), 'NOVA_ERR_SESSION_USER');
        assert.strictEqual(await store.userOf(h.id()), undefined, 'an unknown id has no user');
      }),
    );

    it(
      'keeps the binding and the handle through a rotation',
      withStore(async (h) => {
        const store = full(h.store);
        const [s, next, ada] = [h.id(), h.id(), user('ada')];
        await store.setValue(s, 'k', 1);
        const handle = await store.bindUser(s, ada, { userAgent: 'ua' });
        await store.rotate(s, next);
        assert.strictEqual(await store.userOf(s), undefined);
        assert.deepStrictEqual(await store.userOf(next), { userId: ada, handle });
        const list = await store.listUserSessions(ada);
        assert.deepStrictEqual(
          list.map((x) => [x.handle, x.userAgent]),
          [[handle, 'ua']],
        );
        assert.ok(await store.revokeUserSession(ada, handle), 'the handle still reaches the session');
        assert.strictEqual(await store.getValue(next, 'k'), undefined);
      }),
    );

    it(
      'moves a session bound again to another user',
      withStore(async (h) => {
        const store = full(h.store);
        const [s, ada, bob] = [h.id(), user('ada'), user('bob')];
        await store.setValue(s, 'k', 1);
        const first = await store.bindUser(s, ada, {});
        const second = await store.bindUser(s, bob, {});
        assert.notEqual(first, second, 'a new binding gets a new handle');
        assert.deepStrictEqual(await store.listUserSessions(ada), []);
        assert.deepStrictEqual(
          (await store.listUserSessions(bob)).map((x) => x.handle),
          [second],
        );
        assert.equal(await store.revokeUserSession(ada, first), false);
        assert.equal(await store.getValue(s, 'k'), 1);
      }),
    );

    it(
      'takes logged-out and expired sessions off the index by themselves',
      withStore(async (h) => {
        const store = full(h.store);
        const ada = user('ada');
        const [out, idle, kept] = [h.id(), h.id(), h.id()];
        for (const s of [out, idle, kept]) {
          await store.setValue(s, 'k', 1);
          await store.bindUser(s, ada, {});
        }
        await store.deleteValue(out);
        assert.equal((await store.listUserSessions(ada)).length, 2);
        for (let t = 0; t < UNITS.idle + 2; t += UNITS.touch) {
          await h.advance(UNITS.touch);
          await store.getValue(kept, 'k'); // kept in use, idle left alone
        }
        const list = await store.listUserSessions(ada);
        assert.equal(list.length, 1);
        assert.deepStrictEqual(await store.userOf(kept), { userId: ada, handle: list[0]!.handle });
        assert.strictEqual(await store.userOf(idle), undefined);
      }),
    );

    it(
      'revokes exactly one session by its handle, and only for its own user',
      withStore(async (h) => {
        const store = full(h.store);
        const [ada, eve] = [user('ada'), user('eve')];
        const [a1, a2, e1] = [h.id(), h.id(), h.id()];
        await store.setValue(a1, 'k', 1);
        const h1 = await store.bindUser(a1, ada, {});
        await store.setValue(a2, 'k', 2);
        const h2 = await store.bindUser(a2, ada, {});
        await store.setValue(e1, 'k', 3);
        const he = await store.bindUser(e1, eve, {});
        assert.equal(await store.revokeUserSession(eve, h1), false, "another user's handle revokes nothing");
        assert.equal(await store.revokeUserSession(ada, 'not-a-handle'), false);
        assert.equal(await store.getValue(a1, 'k'), 1);
        assert.equal(await store.revokeUserSession(ada, h1), true);
        assert.strictEqual(await store.getValue(a1, 'k'), undefined);
        await rejectsWith(store.setValue(a1, 'k', 9), GONE);
        assert.equal(await store.revokeUserSession(ada, h1), false, 'a dead session is not found');
        assert.equal(await store.getValue(a2, 'k'), 2);
        assert.equal(await store.getValue(e1, 'k'), 3);
        assert.deepStrictEqual(
          (await store.listUserSessions(ada)).map((x) => x.handle),
          [h2],
        );
        assert.deepStrictEqual(
          (await store.listUserSessions(eve)).map((x) => x.handle),
          [he],
        );
      }),
    );

    it(
      "revokes all of a user's sessions but one, and no other user's",
      withStore(async (h) => {
        const store = full(h.store);
        const [ada, bob] = [user('ada'), user('bob')];
        const ids = [h.id(), h.id(), h.id()];
        const handles: string[] = [];
        for (const s of ids) {
          await store.setValue(s, 'k', 1);
          handles.push(await store.bindUser(s, ada, {}));
        }
        const b = h.id();
        await store.setValue(b, 'k', 1);
        await store.bindUser(b, bob, {});
        assert.equal(await store.revokeUserSessions(ada, handles[1]), 2);
        assert.strictEqual(await store.getValue(ids[0]!, 'k'), undefined);
        assert.equal(await store.getValue(ids[1]!, 'k'), 1, 'the excepted session lives on');
        assert.strictEqual(await store.getValue(ids[2]!, 'k'), undefined);
        await rejectsWith(store.setValue(ids[2]!, 'k', 2), GONE);
        assert.deepStrictEqual(
          (await store.listUserSessions(ada)).map((x) => x.handle),
          [handles[1]],
        );
        assert.equal(await store.getValue(b, 'k'), 1);
        // The excepted session keeps working after the stamp, and a later login is not caught by it.
        await step(h);
        await store.setValue(ids[1]!, 'k', 2);
        assert.equal(await store.getValue(ids[1]!, 'k'), 2);
        const later = h.id();
        await store.setValue(later, 'k', 1);
        await store.bindUser(later, ada, {});
        assert.equal(await store.getValue(later, 'k'), 1);
        assert.equal((await store.listUserSessions(ada)).length, 2);
        assert.equal(await store.revokeUserSessions(ada), 2, 'without an exception, all go');
        assert.strictEqual(await store.getValue(ids[1]!, 'k'), undefined);
        assert.strictEqual(await store.getValue(later, 'k'), undefined);
        assert.deepStrictEqual(await store.listUserSessions(ada), []);
      }),
    );

    it(
      'caps live sessions per user, revoking the oldest first',
      withStore(
        async (h) => {
          const store = full(h.store);
          const ada = user('ada');
          const ids = [h.id(), h.id(), h.id(), h.id()];
          const handles: string[] = [];
          for (const s of ids) {
            await store.setValue(s, 'k', 1);
            handles.push(await store.bindUser(s, ada, {}));
            await step(h);
          }
          assert.deepStrictEqual(
            (await store.listUserSessions(ada)).map((x) => x.handle),
            handles.slice(1),
          );
          assert.strictEqual(await store.getValue(ids[0]!, 'k'), undefined, 'the oldest was revoked');
          for (const s of ids.slice(1)) assert.equal(await store.getValue(s, 'k'), 1);
        },
        { maxSessionsPerUser: 3 },
      ),
    );
  });
}

/**
 * Register the atomic take tests.
 *
 * @example
 * ```ts
 * describe('my store', () => takeTests(withStore, { concurrency: false }));
 * ```
 */
export function takeTests(withStore: WithStore, group: Group): void {
  describe('atomic take (flash)', group, () => {
    it(
      'returns a key and deletes it, leaving the other keys and freeing its bytes',
      withStore(async (h) => {
        const store = full(h.store);
        const s = h.id();
        await store.setValue(s, 'keep', 1);
        await store.setValue(s, 'flash', { info: 'x'.repeat(600) });
        assert.deepStrictEqual(await store.takeValue(s, 'flash'), { info: 'x'.repeat(600) });
        assert.strictEqual(await store.takeValue(s, 'flash'), undefined);
        assert.strictEqual(await store.getValue(s, 'flash'), undefined);
        assert.equal(await store.getValue(s, 'keep'), 1);
        await store.setValue(s, 'again', 'y'.repeat(600)); // over the 1024-byte limit unless the take freed its bytes
        assert.strictEqual(await store.takeValue(s, 'missing'), undefined);
      }),
    );

    it(
      'gives a value to exactly one of 20 concurrent takes',
      withStore(async (h) => {
        const store = full(h.store);
        for (let round = 0; round < 5; round++) {
          const s = h.id();
          await store.setValue(s, 'flash', round);
          const got = await Promise.all(Array.from({ length: 20 }, () => store.takeValue(s, 'flash')));
          assert.deepStrictEqual(
            got.filter((v) => v !== undefined),
            [round],
            `round ${round}`,
          );
        }
      }),
    );

    it(
      'records nothing for an unknown id and returns nothing from a dead one',
      withStore(async (h) => {
        const store = full(h.store);
        const unknown = h.id();
        assert.strictEqual(await store.takeValue(unknown, 'flash'), undefined);
        await store.setValue(unknown, 'k', 1); // not a tombstone: the id is still free
        assert.equal(await store.getValue(unknown, 'k'), 1);
        const dead = h.id();
        await store.setValue(dead, 'flash', 'x');
        await store.deleteValue(dead);
        assert.strictEqual(await store.takeValue(dead, 'flash'), undefined);
        await rejectsWith(store.setValue(dead, 'k', 1), GONE);
      }),
    );
  });
}
