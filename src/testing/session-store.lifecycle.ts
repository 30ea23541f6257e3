/**
 * The time- and order-dependent part of the session store conformance suite: expiry, rotation,
 * tombstones and concurrency. Registered by `sessionStoreConformance`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Group, WithStore } from './session-store.suite.js';

const GONE = 'NOVA_ERR_SESSION_GONE';

/** Timeouts in units: touch 3, idle 10, absolute 30. */
export const UNITS = { touch: 3, idle: 10, absolute: 30 } as const;

/**
 * Assert that `promise` rejects with the catalogue error `code`. Checked by code, not class, so a
 * store built against another copy of nova-ts still passes.
 *
 * @example
 * ```ts
 * await rejectsWith(store.setValue(deletedId, 'k', 1), 'NOVA_ERR_SESSION_GONE');
 * ```
 */
export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof Error, 'rejects with an Error');
    assert.equal((err as { code?: unknown }).code, code);
    return true;
  });
}

/**
 * Register the expiry, rotation, tombstone and concurrency tests.
 *
 * @example
 * ```ts
 * describe('my store', () => storeLifecycleTests(withStore));
 * ```
 */
export function storeLifecycleTests(withStore: WithStore, group: Group = { concurrency: false }): void {
  expiryTests(withStore, group);
  rotationTests(withStore, group);
  tombstoneTests(withStore, group);
  concurrencyTests(withStore, group);
}

function expiryTests(withStore: WithStore, group: Group): void {
  describe('expiry (touch 3, idle 10, absolute 30 units)', group, () => {
    it(
      'keeps an idle session until the idle timeout, then reads it as gone',
      withStore(async ({ store, id, advance }) => {
        const s = id();
        await store.setValue(s, 'a', 1);
        await store.setValue(s, 'b', 2);
        await advance(UNITS.idle - 1);
        const t = id();
        await store.setValue(t, 'a', 1);
        await advance(2); // s: idle for 11 units; t: for 2
        assert.strictEqual(await store.getValue(s, 'a'), undefined);
        assert.strictEqual(await store.getValue(s, 'b'), undefined);
        assert.equal(await store.getValue(t, 'a'), 1);
      }),
    );

    it(
      'slides with reads and with writes',
      withStore(async ({ store, id, advance }) => {
        const [r, w] = [id(), id()];
        await store.setValue(r, 'k', 0);
        await store.setValue(w, 'k', 0);
        for (let i = 1; i <= 3; i++) {
          await advance(6);
          assert.equal(await store.getValue(r, 'k'), 0, `read ${i}`);
          await store.setValue(w, 'k', i);
        }
        await advance(UNITS.idle - 3); // 25 units in, 7 since the last use
        assert.equal(await store.getValue(r, 'k'), 0);
        assert.equal(await store.getValue(w, 'k'), 3);
      }),
    );

    it(
      'throttles the slide: use within touchInterval of the stored time does not move it',
      withStore(async ({ store, id, advance }) => {
        const s = id();
        await store.setValue(s, 'k', 1);
        await advance(1); // under the 3-unit touch interval
        assert.equal(await store.getValue(s, 'k'), 1);
        // 10.5 units after the stored time: gone. Had the read moved it, it would live until 11.
        await advance(UNITS.idle - 0.5);
        assert.strictEqual(await store.getValue(s, 'k'), undefined);
      }),
    );

    it(
      'ends an active session at the absolute timeout',
      withStore(async ({ store, id, advance }) => {
        const s = id();
        await store.setValue(s, 'k', 1);
        for (let i = 0; i < 4; i++) {
          await advance(7);
          assert.equal(await store.getValue(s, 'k'), 1, `still alive at ${7 * (i + 1)} units`);
        }
        await advance(UNITS.absolute - 28 + 1); // 31 units, last use 3 units ago
        assert.strictEqual(await store.getValue(s, 'k'), undefined);
      }),
    );

    it(
      'refuses a late write to an idle-expired session (no resurrection)',
      withStore(async ({ store, id, advance }) => {
        const s = id();
        await store.setValue(s, 'user', 'alice');
        await advance(UNITS.idle + 1);
        await rejectsWith(store.setValue(s, 'cart', [1]), GONE);
        await store.deleteValue(s, 'user');
        assert.strictEqual(await store.getValue(s, 'cart'), undefined);
        assert.strictEqual(await store.getValue(s, 'user'), undefined);
      }),
    );

    it(
      'refuses a late write to an absolutely-expired session',
      withStore(async ({ store, id, advance }) => {
        const s = id();
        await store.setValue(s, 'k', 0);
        for (let i = 1; i <= 4; i++) {
          await advance(6);
          await store.setValue(s, 'k', i);
        }
        await advance(UNITS.absolute - 24 + 1); // 31 units in, 7 since the last use
        await rejectsWith(store.setValue(s, 'k', 6), GONE);
        assert.strictEqual(await store.getValue(s, 'k'), undefined);
      }),
    );
  });
}

function rotationTests(withStore: WithStore, group: Group): void {
  describe('rotation', group, () => {
    it(
      'moves every key to the new id and leaves the old id empty',
      withStore(async ({ store, id }) => {
        const [o, n] = [id(), id()];
        await store.setValue(o, 'a', 1);
        await store.setValue(o, 'b', { x: [2] });
        await store.rotate(o, n);
        assert.equal(await store.getValue(n, 'a'), 1);
        assert.deepStrictEqual(await store.getValue(n, 'b'), { x: [2] });
        assert.strictEqual(await store.getValue(o, 'a'), undefined);
        assert.strictEqual(await store.getValue(o, 'b'), undefined);
        await store.setValue(n, 'c', 3);
        await store.deleteValue(n, 'a');
        assert.equal(await store.getValue(n, 'c'), 3);
        assert.strictEqual(await store.getValue(n, 'a'), undefined);
      }),
    );

    it(
      'refuses a late write to the old id',
      withStore(async ({ store, id }) => {
        const [o, n] = [id(), id()];
        await store.setValue(o, 'user', 'anonymous');
        await store.rotate(o, n);
        await rejectsWith(store.setValue(o, 'user', 'attacker'), GONE);
        assert.strictEqual(await store.getValue(o, 'user'), undefined);
        assert.equal(await store.getValue(n, 'user'), 'anonymous');
      }),
    );

    it(
      'counts as use, but keeps the absolute deadline of the original session',
      withStore(async ({ store, id, advance }) => {
        const [o, n] = [id(), id()];
        await store.setValue(o, 'k', 1);
        await advance(UNITS.idle - 2);
        await store.rotate(o, n);
        await advance(UNITS.idle - 2); // 16 units since creation, 8 since the rotation
        assert.equal(await store.getValue(n, 'k'), 1);
        for (let i = 0; i < 2; i++) {
          await advance(6);
          assert.equal(await store.getValue(n, 'k'), 1);
        }
        await advance(3); // 31 units since the original session was created
        assert.strictEqual(await store.getValue(n, 'k'), undefined);
      }),
    );

    it(
      'refuses to rotate a deleted session, or onto an id in use',
      withStore(async ({ store, id }) => {
        const [a, b, c] = [id(), id(), id()];
        await store.setValue(a, 'k', 1);
        await store.setValue(b, 'k', 2);
        await rejectsWith(store.rotate(a, b), 'NOVA_ERR_SESSION_ID_INVALID');
        assert.equal(await store.getValue(a, 'k'), 1);
        assert.equal(await store.getValue(b, 'k'), 2);
        await store.deleteValue(a);
        await rejectsWith(store.rotate(a, c), GONE);
        assert.strictEqual(await store.getValue(c, 'k'), undefined);
      }),
    );
  });
}

function tombstoneTests(withStore: WithStore, group: Group): void {
  describe('tombstones', group, () => {
    it(
      'refuses every late write after a logout, and the session stays empty',
      withStore(async ({ store, id, advance }) => {
        const s = id();
        await store.setValue(s, 'user', 'alice');
        await store.deleteValue(s);
        await rejectsWith(store.setValue(s, 'user', 'alice'), GONE);
        await advance(UNITS.idle - 1);
        await rejectsWith(store.setValue(s, 'other', 1), GONE);
        await store.deleteValue(s);
        await store.deleteValue(s, 'user');
        assert.strictEqual(await store.getValue(s, 'user'), undefined);
        assert.strictEqual(await store.getValue(s, 'other'), undefined);
      }),
    );

    it(
      'treats deleting the last key as an edit, not a logout',
      withStore(async ({ store, id }) => {
        const s = id();
        await store.setValue(s, 'a', 1);
        await store.deleteValue(s, 'a');
        await store.setValue(s, 'b', 2);
        assert.equal(await store.getValue(s, 'b'), 2);
      }),
    );
  });
}

function concurrencyTests(withStore: WithStore, group: Group): void {
  describe('concurrency', group, () => {
    it(
      'keeps all of 100 concurrent writes to different keys of one session',
      withStore(async ({ store, id }) => {
        const s = id();
        await store.setValue(s, 'seed', 0);
        await Promise.all(Array.from({ length: 100 }, (_, i) => store.setValue(s, `k${i}`, i)));
        const back = await Promise.all(Array.from({ length: 100 }, (_, i) => store.getValue(s, `k${i}`)));
        assert.deepStrictEqual(
          back,
          Array.from({ length: 100 }, (_, i) => i),
        );
      }),
    );

    it(
      'keeps all of 50 concurrent first writes to a new session',
      withStore(async ({ store, id }) => {
        const s = id();
        await Promise.all(Array.from({ length: 50 }, (_, i) => store.setValue(s, `k${i}`, i)));
        for (let i = 0; i < 50; i++) assert.equal(await store.getValue(s, `k${i}`), i);
      }),
    );

    it(
      'never leaves a session alive after a delete racing writes',
      withStore(async ({ store, id }) => {
        for (let round = 0; round < 20; round++) {
          const s = id();
          await store.setValue(s, 'user', 'alice');
          const results = await Promise.allSettled([
            store.setValue(s, 'x', 1),
            store.deleteValue(s),
            store.setValue(s, 'y', 2),
            store.setValue(s, 'user', 'bob'),
          ]);
          for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as { code?: unknown }).code, GONE);
          for (const k of ['user', 'x', 'y']) assert.strictEqual(await store.getValue(s, k), undefined, `round ${round}, key ${k}`);
        }
      }),
    );

    it(
      'lands each write racing a rotation on the new id or refuses it, never on the old id',
      withStore(async ({ store, id }) => {
        for (let round = 0; round < 20; round++) {
          const [o, n] = [id(), id()];
          await store.setValue(o, 'seed', 0);
          const [w1, , w2] = await Promise.allSettled([store.setValue(o, 'w1', 1), store.rotate(o, n), store.setValue(o, 'w2', 2)]);
          for (const [key, r] of [
            ['w1', w1],
            ['w2', w2],
          ] as const) {
            assert.strictEqual(await store.getValue(o, key), undefined);
            if (r?.status === 'fulfilled') assert.ok((await store.getValue(n, key)) !== undefined, `${key} moved`);
            else assert.equal((r?.reason as { code?: unknown } | undefined)?.code, GONE);
          }
          assert.equal(await store.getValue(n, 'seed'), 0);
        }
      }),
    );
  });
}
