/**
 * The conformance suite every session store must pass: the rules written on `SessionStore`.
 * Register it from any test file; it adds node:test `describe`/`it` blocks.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Json } from '../results/result.js';
import { generateSessionId } from '../session/id.js';
import type { SessionStore, SessionStoreOptions } from '../session/store.js';
import { rejectsWith, storeLifecycleTests, UNITS } from './session-store.lifecycle.js';
import { takeTests, userIndexTests } from './session-users.suite.js';

/** How the suite drives a store. */
export interface ConformanceOptions {
  /** The store honours `SessionStoreOptions.now` (default true). When false, tests wait in real time. */
  clock?: boolean;
  /**
   * Length of one time unit in real-time mode, in ms (default 100). Timeouts are 3, 10 and 30
   * units; the real-time suite takes about 75 units.
   */
  unitMs?: number;
  /**
   * Run the sessions-per-user tests (`bindUser`, `listUserSessions`, …) and the atomic take
   * (`takeValue`, for flash). Default true; a store of your own that leaves these out passes with
   * `false`, and the app then fails with `NOVA_ERR_SESSION_STORE_FEATURE` when they are used.
   */
  users?: boolean;
  take?: boolean;
}

/** What each test gets: a started store, ids, and a way to let time pass. */
export interface StoreHarness {
  store: SessionStore;
  id(): string;
  /** Let `units` of time pass (fake clock, or real waiting). */
  advance(units: number): Promise<void>;
}

/** Options for each `describe` block of the suite. */
export interface Group {
  concurrency: boolean;
}

export type WithStore = (test: (h: StoreHarness) => Promise<void>, overrides?: Partial<SessionStoreOptions>) => () => Promise<void>;

/**
 * Register the conformance tests for a session store. `makeStore` is called once per test; the
 * suite calls `start()` and `stop()` itself.
 *
 * @example
 * ```ts
 * import { sessionStoreConformance } from 'nova-ts/testing';
 * sessionStoreConformance('my redis store', () => redisStore({ url: process.env.REDIS_URL }), { clock: false });
 * ```
 */
export function sessionStoreConformance(name: string, makeStore: () => Promise<SessionStore> | SessionStore, opts: ConformanceOptions = {}): void {
  const fake = opts.clock ?? true;
  const unit = fake ? 1000 : (opts.unitMs ?? 100);
  // Real-time tests mostly wait, so within a group they run side by side.
  const group = { concurrency: !fake };

  const withStore: WithStore =
    (test, overrides = {}) =>
    async () => {
      let t = 1_700_000_000_000;
      const store = await makeStore();
      await store.start?.({
        idleTimeoutMs: UNITS.idle * unit,
        absoluteTimeoutMs: UNITS.absolute * unit,
        touchIntervalMs: UNITS.touch * unit,
        maxSessionBytes: 1024,
        maxSessions: 100_000,
        ...(fake ? { now: () => t } : {}),
        ...overrides,
      });
      // Real time follows a fixed schedule from the start, so a late timer does not delay every
      // later step as well.
      const origin = Date.now();
      let scheduled = 0;
      const advance = async (units: number) => {
        scheduled += units * unit;
        if (fake) t += units * unit;
        else await new Promise((resolve) => setTimeout(resolve, Math.max(0, origin + scheduled - Date.now())));
      };
      try {
        await test({ store, id: generateSessionId, advance });
      } finally {
        await store.stop?.();
      }
    };

  // Groups run one after another, so quick CPU-bound tests never delay the timeline of timed ones.
  describe(`session store conformance: ${name}`, () => {
    basicTests(withStore, group);
    keyTests(withStore, group);
    valueTests(withStore, group);
    sizeTests(withStore, group);
    storeLifecycleTests(withStore, group);
    if (opts.users ?? true) userIndexTests(withStore, group);
    if (opts.take ?? true) takeTests(withStore, group);
  });
}

function basicTests(withStore: WithStore, group: Group): void {
  describe('get / set / delete', group, () => {
    it(
      'reads an unknown id as undefined (Nova {error, not_found})',
      withStore(async ({ store, id }) => {
        assert.strictEqual(await store.getValue(id(), 'anything'), undefined);
      }),
    );

    it(
      'creates the session on the first set, and reads back every JSON shape',
      withStore(async ({ store, id }) => {
        const values: Json[] = [
          'text',
          '',
          0,
          -1.5,
          1e300,
          true,
          false,
          null,
          [],
          {},
          [1, 'a', null, { b: [true] }],
          { nested: { deep: { x: 1 } } },
          'ünïcødé ✓ 😀',
          '\u2028\u2029"\\',
        ];
        const s = id();
        for (const [i, v] of values.entries()) await store.setValue(s, `k${i}`, v);
        for (const [i, v] of values.entries()) assert.deepStrictEqual(await store.getValue(s, `k${i}`), v);
      }),
    );

    it(
      'overwrites a key, and reads a missing key of a live session as undefined',
      withStore(async ({ store, id }) => {
        const s = id();
        await store.setValue(s, 'k', 1);
        await store.setValue(s, 'k', 'two');
        assert.equal(await store.getValue(s, 'k'), 'two');
        assert.strictEqual(await store.getValue(s, 'other'), undefined);
      }),
    );

    it(
      'deletes one key and leaves the others',
      withStore(async ({ store, id }) => {
        const s = id();
        await store.setValue(s, 'a', 1);
        await store.setValue(s, 'b', 2);
        await store.deleteValue(s, 'a');
        assert.strictEqual(await store.getValue(s, 'a'), undefined);
        assert.equal(await store.getValue(s, 'b'), 2);
        await store.deleteValue(s, 'never-set');
        assert.equal(await store.getValue(s, 'b'), 2);
      }),
    );

    it(
      'keeps every key right through any order of writes and key deletes',
      withStore(async ({ store, id }) => {
        const s = id();
        // The case that breaks a store keeping one key apart from the rest: the first key goes,
        // then a later one is rewritten and deleted.
        for (const k of ['a', 'b', 'c']) await store.setValue(s, k, k);
        await store.deleteValue(s, 'a');
        await store.setValue(s, 'b', 'b2');
        await store.deleteValue(s, 'b');
        assert.deepEqual([await store.getValue(s, 'a'), await store.getValue(s, 'b'), await store.getValue(s, 'c')], [undefined, undefined, 'c']);
        // Then 300 random writes and deletes over four keys, against a plain Map.
        const model = new Map<string, number>([['c', 0]]);
        await store.setValue(s, 'c', 0);
        let seed = 7;
        const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
        for (let step = 1; step <= 300; step += 1) {
          const key = ['a', 'b', 'c', 'd'][Math.floor(next() * 4)] as string;
          // Never delete the last key: a session with no keys may end, and that is another test.
          if (next() < 0.4 && model.size > 1) {
            await store.deleteValue(s, key);
            model.delete(key);
          } else {
            await store.setValue(s, key, step);
            model.set(key, step);
          }
          for (const k of ['a', 'b', 'c', 'd']) assert.strictEqual(await store.getValue(s, k), model.get(k), `step ${step}, key ${k}`);
        }
      }),
    );

    it(
      'deletes the whole session',
      withStore(async ({ store, id }) => {
        const s = id();
        await store.setValue(s, 'a', 1);
        await store.setValue(s, 'b', 2);
        await store.deleteValue(s);
        assert.strictEqual(await store.getValue(s, 'a'), undefined);
        assert.strictEqual(await store.getValue(s, 'b'), undefined);
      }),
    );

    it(
      'keeps sessions apart',
      withStore(async ({ store, id }) => {
        const [a, b] = [id(), id()];
        await store.setValue(a, 'k', 'for a');
        await store.setValue(b, 'k', 'for b');
        assert.equal(await store.getValue(a, 'k'), 'for a');
        assert.equal(await store.getValue(b, 'k'), 'for b');
        await store.deleteValue(a);
        assert.equal(await store.getValue(b, 'k'), 'for b');
      }),
    );

    it(
      'records nothing for an id that never held data (delete, delete key, rotate)',
      withStore(async ({ store, id }) => {
        const [s, t] = [id(), id()];
        await store.deleteValue(s);
        await store.deleteValue(s, 'k');
        await store.rotate(s, t);
        assert.strictEqual(await store.getValue(t, 'k'), undefined);
        // No tombstone was left for s, so it can still start a session normally.
        await store.setValue(s, 'k', 1);
        assert.equal(await store.getValue(s, 'k'), 1);
      }),
    );
  });
}

function keyTests(withStore: WithStore, group: Group): void {
  const protoKeys = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', ''];

  describe('keys', group, () => {
    it(
      'reads prototype-named keys of an empty or unknown session as undefined',
      withStore(async ({ store, id }) => {
        const s = id();
        for (const k of protoKeys) assert.strictEqual(await store.getValue(s, k), undefined, `unknown session, key "${k}"`);
        await store.setValue(s, 'other', 1);
        for (const k of protoKeys) assert.strictEqual(await store.getValue(s, k), undefined, `live session, key "${k}"`);
      }),
    );

    it(
      'stores prototype-named keys as ordinary keys without polluting Object.prototype',
      withStore(async ({ store, id }) => {
        const s = id();
        for (const [i, k] of protoKeys.entries()) await store.setValue(s, k, { polluted: i });
        for (const [i, k] of protoKeys.entries()) assert.deepStrictEqual(await store.getValue(s, k), { polluted: i });
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
        await store.deleteValue(s, '__proto__');
        assert.strictEqual(await store.getValue(s, '__proto__'), undefined);
        assert.deepStrictEqual(await store.getValue(s, 'constructor'), { polluted: 1 });
      }),
    );

    it(
      'keeps a "__proto__" field inside a value as data',
      withStore(async ({ store, id }) => {
        const s = id();
        await store.setValue(s, 'k', JSON.parse('{"__proto__":{"x":1},"y":2}') as Json);
        const back = (await store.getValue(s, 'k')) as Record<string, unknown>;
        assert.equal(Object.getPrototypeOf(back), Object.prototype);
        assert.ok(Object.hasOwn(back, '__proto__'));
        assert.equal(back.x, undefined);
        assert.equal(({} as Record<string, unknown>).x, undefined);
      }),
    );
  });
}

function valueTests(withStore: WithStore, group: Group): void {
  describe('values', group, () => {
    it(
      'copies values in: changing what was written changes nothing stored',
      withStore(async ({ store, id }) => {
        const s = id();
        const written = { list: [1, 2], inner: { a: 'x' } };
        await store.setValue(s, 'k', written);
        written.list.push(3);
        written.inner.a = 'changed';
        assert.deepStrictEqual(await store.getValue(s, 'k'), { list: [1, 2], inner: { a: 'x' } });
      }),
    );

    it(
      'copies values out: changing what was read changes nothing stored',
      withStore(async ({ store, id }) => {
        const s = id();
        await store.setValue(s, 'k', { list: [1, 2] });
        const first = (await store.getValue(s, 'k')) as { list: number[] };
        first.list.push(99);
        const second = await store.getValue(s, 'k');
        assert.notStrictEqual(second, first);
        assert.deepStrictEqual(second, { list: [1, 2] });
      }),
    );

    it(
      'accepts shared (non-cyclic) references and drops properties holding undefined',
      withStore(async ({ store, id }) => {
        const s = id();
        const shared = { a: 1 };
        await store.setValue(s, 'k', { x: shared, y: shared, gone: undefined });
        assert.deepStrictEqual(await store.getValue(s, 'k'), { x: { a: 1 }, y: { a: 1 } });
      }),
    );

    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const cyclicArray: unknown[] = [1];
    cyclicArray.push(cyclicArray);
    class Point {
      x = 1;
    }
    let deep: unknown = 'bottom';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    const refused: [string, unknown][] = [
      ['undefined', undefined],
      ['a function', () => 1],
      ['a bigint', 10n],
      ['a symbol', Symbol('s')],
      ['NaN', NaN],
      ['Infinity', Infinity],
      ['-Infinity', -Infinity],
      ['a Date', new Date(0)],
      ['a Map', new Map([['a', 1]])],
      ['a Set', new Set([1])],
      ['a class instance', new Point()],
      ['a RegExp', /x/],
      ['a Buffer', Buffer.from('x')],
      ['a cyclic object', cyclic],
      ['a cyclic array', cyclicArray],
      ['undefined in an array', [1, undefined]],
      // biome-ignore lint/suspicious/noSparseArray: the hole is the value under test
      ['a sparse array', [1, , 3]],
      ['NaN deep inside', { a: [{ b: NaN }] }],
      [
        'a method',
        {
          f() {
            return 1;
          },
        },
      ],
      ['a boxed string', Object('x')],
      ['10,000 levels of nesting', deep],
    ];
    it(
      'refuses non-JSON values with NOVA_ERR_SESSION_VALUE naming the key, storing nothing',
      withStore(async ({ store, id }) => {
        const s = id();
        await store.setValue(s, 'kept', 'old');
        for (const [label, value] of refused) {
          const key = `key-for-${label.replace(/\W+/g, '-')}`;
          await assert.rejects(store.setValue(s, key, value as Json), (err: unknown) => {
            assert.equal((err as { code?: unknown }).code, 'NOVA_ERR_SESSION_VALUE', label);
            assert.ok((err as Error).message.includes(key), `message names the key (${label})`);
            return true;
          });
          assert.strictEqual(await store.getValue(s, key), undefined, label);
          await rejectsWith(store.setValue(s, 'kept', value as Json), 'NOVA_ERR_SESSION_VALUE');
        }
        assert.equal(await store.getValue(s, 'kept'), 'old');
      }),
    );
  });
}

function sizeTests(withStore: WithStore, group: Group): void {
  describe('size limit (1024 bytes here)', group, () => {
    it(
      'refuses a value over the limit and does not apply it',
      withStore(async ({ store, id }) => {
        const s = id();
        await rejectsWith(store.setValue(s, 'big', 'x'.repeat(2000)), 'NOVA_ERR_SESSION_TOO_LARGE');
        assert.strictEqual(await store.getValue(s, 'big'), undefined);
        await store.setValue(s, 'small', 'x'.repeat(100));
        await rejectsWith(store.setValue(s, 'small', 'x'.repeat(2000)), 'NOVA_ERR_SESSION_TOO_LARGE');
        assert.equal(await store.getValue(s, 'small'), 'x'.repeat(100));
      }),
    );

    it(
      'counts every key, counts an overwrite as a replacement, and frees room on delete',
      withStore(async ({ store, id }) => {
        const s = id();
        await store.setValue(s, 'a', 'x'.repeat(400));
        await store.setValue(s, 'b', 'x'.repeat(400));
        await rejectsWith(store.setValue(s, 'c', 'x'.repeat(400)), 'NOVA_ERR_SESSION_TOO_LARGE');
        assert.strictEqual(await store.getValue(s, 'c'), undefined);
        assert.equal(await store.getValue(s, 'a'), 'x'.repeat(400));
        await store.setValue(s, 'a', 'y'.repeat(450)); // 450 replaces 400: fits
        assert.equal(await store.getValue(s, 'a'), 'y'.repeat(450));
        await store.deleteValue(s, 'b');
        await store.setValue(s, 'c', 'x'.repeat(400));
        assert.equal(await store.getValue(s, 'c'), 'x'.repeat(400));
      }),
    );

    it(
      'measures UTF-8 bytes, not characters',
      withStore(async ({ store, id }) => {
        const s = id();
        await store.setValue(s, 'ascii', 'a'.repeat(600));
        await store.deleteValue(s, 'ascii');
        await rejectsWith(store.setValue(s, 'accented', 'é'.repeat(600)), 'NOVA_ERR_SESSION_TOO_LARGE');
      }),
    );
  });
}
