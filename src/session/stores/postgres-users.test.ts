/**
 * The PostgreSQL store's ids at rest, per-user index, revocation stamps, schema upgrade and
 * sweeper, against a real server (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test).
 * The conformance suite runs from postgres.test.ts. Unreachable server: the tests fail when
 * CI=true, and are skipped with a message otherwise.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import pg from 'pg';
import { rejectsWith } from '../../testing/session-store.lifecycle.js';
import { hashSessionId } from '../id-hash.js';
import { generateSessionId } from '../id.js';
import type { SessionStoreOptions } from '../store.js';
import { postgresStore, type PostgresStoreOptions } from './postgres.js';
import { listSql } from './postgres-users.js';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const runTag = randomBytes(4).toString('hex');
const tables: string[] = [];
function tableName(label: string): string {
  const name = `nova_test_${runTag}_${label}`;
  tables.push(name);
  return name;
}

const T0 = 1_700_000_000_000;
const OPTIONS: SessionStoreOptions = {
  idleTimeoutMs: 10_000,
  absoluteTimeoutMs: 30_000,
  touchIntervalMs: 1000,
  maxSessionBytes: 1024,
  maxSessions: 100_000,
};

/** A store on a fake clock: `clock.t` is its time. */
async function started(table: string, extra: Partial<SessionStoreOptions> = {}, config: PostgresStoreOptions = {}) {
  const clock = { t: T0 };
  const store = postgresStore({ url, table, sweepIntervalMs: 1_000_000, ...config });
  await store.start({ ...OPTIONS, now: () => clock.t, ...extra });
  return { store, clock };
}

/** The pg_dump binary, newest first; undefined when the PostgreSQL client is not installed. */
function findPgDump(): string | undefined {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(`${root}/${v}/bin/pg_dump`)) return `${root}/${v}/bin/pg_dump`;
  try {
    return execFileSync('which', ['pg_dump'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

async function reachable(): Promise<unknown> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return err;
  } finally {
    await client.end().catch(() => {});
  }
}

const problem = await reachable();
if (problem !== undefined) {
  const message = `PostgreSQL at ${new URL(url).host} is unreachable (${(problem as Error).message}); set DATABASE_URL`;
  if (process.env.CI === 'true') it('postgres users: PostgreSQL must be reachable in CI', () => assert.fail(message));
  else it('postgres users (skipped)', { skip: message }, () => {});
} else {
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  after(async () => {
    for (const t of tables) await admin.query(`DROP TABLE IF EXISTS "${t}_values", "${t}", "${t}_users"`).catch(() => {});
    await admin.end();
  });

  describe('postgres store: ids at rest', () => {
    it('never sends a raw id to PostgreSQL, and pg_dump of its tables holds none', async () => {
      const table = tableName('rest');
      // Every statement and parameter the store sends passes through the clients of this pool.
      const sent: string[] = [];
      const pool = new pg.Pool({ connectionString: url, max: 4 });
      pool.on('connect', (client) => {
        const query = client.query.bind(client) as (...args: unknown[]) => unknown;
        (client as unknown as { query: unknown }).query = (...args: unknown[]) => {
          sent.push(JSON.stringify(args.filter((a) => typeof a !== 'function')));
          return query(...args);
        };
      });
      const { store, clock } = await started(table, {}, { pool });
      const ids = Array.from({ length: 6 }, () => generateSessionId());
      const [a, a2, b, c, d, e] = ids as [string, string, string, string, string, string];
      await store.setValue(a, 'user', { name: 'ada' });
      await store.bindUser(a, 'ada', { userAgent: 'Firefox/140', ip: '203.0.113.7' });
      await store.setValue(a, 'flash', 'saved');
      await store.rotate(a, a2);
      assert.equal(await store.takeValue(a2, 'flash'), 'saved');
      const kept = await store.bindUser(b, 'ada', {});
      await store.bindUser(c, 'ada', {});
      await store.revokeUserSession('ada', (await store.listUserSessions('ada'))[0]!.handle);
      await store.revokeUserSessions('ada', kept);
      await store.setValue(d, 'k', 1);
      await store.deleteValue(d);
      await store.setValue(e, 'k', 2);
      clock.t += 1000;
      assert.equal(await store.getValue(e, 'k'), 2);
      await store.sweep();
      await store.stop();
      await pool.end();

      for (const id of ids) assert.ok(!sent.some((text) => text.includes(id)), 'no statement carried a raw id');
      assert.ok(
        sent.some((text) => text.includes(hashSessionId(e))),
        'the statements were recorded',
      );

      const pgDump = findPgDump();
      if (pgDump === undefined) {
        const message = 'pg_dump is not installed (apt-get install postgresql-client)';
        if (process.env.CI === 'true') assert.fail(message);
        return;
      }
      const dump = execFileSync(pgDump, ['--data-only', '-t', table, '-t', `${table}_values`, '-t', `${table}_users`, url], { encoding: 'utf8' });
      assert.ok(dump.includes(hashSessionId(e)) && dump.includes('ada'), 'the dump holds the rows');
      for (const id of ids) assert.ok(!dump.includes(id), 'no raw id in the dump');
    });
  });

  describe('postgres store: takes that find nothing', () => {
    it('write no row version unless the touch is due', async () => {
      const table = tableName('take');
      const { store, clock } = await started(table);
      const id = generateSessionId();
      await store.setValue(id, 'k', 1);
      const version = async () =>
        (await admin.query(`SELECT xmin::text AS v, seen_at FROM "${table}" WHERE id = $1`, [hashSessionId(id)])).rows[0] as { v: string; seen_at: string };
      const before = await version();
      assert.strictEqual(await store.takeValue(id, 'flash'), undefined);
      assert.deepStrictEqual(await version(), before, 'no update for a missing key within the touch interval');
      clock.t += OPTIONS.touchIntervalMs;
      assert.strictEqual(await store.takeValue(id, 'flash'), undefined);
      const after = await version();
      assert.equal(Number(after.seen_at), clock.t, 'a due touch is still written');
      await store.setValue(id, 'flash', 'x');
      assert.equal(await store.takeValue(id, 'flash'), 'x');
      await store.stop();
    });
  });

  describe('postgres store: per-user index and stamps', () => {
    it('checks the revocation stamp on every read, even for a session the index did not list', async () => {
      const table = tableName('stamp');
      const expired: unknown[] = [];
      const { store, clock } = await started(table, { onExpired: (...args) => void expired.push(args) });
      const ids = Array.from({ length: 5 }, () => generateSessionId());
      for (const id of ids) {
        await store.setValue(id, 'k', 1);
        await store.bindUser(id, 'ada', {});
      }
      const other = generateSessionId();
      await store.setValue(other, 'k', 1);
      await store.bindUser(other, 'bob', {});
      clock.t += 1000;
      // A revoke the index missed: only the stamp is raised.
      await admin.query(`INSERT INTO "${table}_users" (user_id, revoked_before) VALUES ('ada', $1)`, [clock.t]);
      const [get, set, take, owner, rotate] = ids as [string, string, string, string, string];
      assert.equal(await store.getValue(get, 'k'), undefined);
      await rejectsWith(store.setValue(set, 'k', 2), 'NOVA_ERR_SESSION_GONE');
      assert.equal(await store.takeValue(take, 'k'), undefined);
      assert.equal(await store.userOf(owner), undefined);
      await rejectsWith(store.rotate(rotate, generateSessionId()), 'NOVA_ERR_SESSION_GONE');
      const rows = await admin.query(`SELECT count(*)::int AS n FROM "${table}" WHERE gone_at IS NOT NULL AND user_id IS NULL`);
      assert.equal(rows.rows[0].n, 5, 'each read left a tombstone without the binding');
      assert.deepEqual(await store.listUserSessions('ada'), []);
      assert.equal(await store.getValue(other, 'k'), 1, "another user's session is untouched");
      assert.deepEqual(expired, [], 'a revoked session is not reported as expired');
      // A login after the stamp is not caught by it.
      clock.t += 1;
      const fresh = generateSessionId();
      await store.bindUser(fresh, 'ada', {});
      assert.equal((await store.listUserSessions('ada')).length, 1);
      await store.stop();
    });

    it('does not let a revoke-all bring back a session an earlier stamp ended, nor count it', async () => {
      const table = tableName('except');
      const { store, clock } = await started(table);
      const [kept, other] = [generateSessionId(), generateSessionId()];
      await store.setValue(kept, 'k', 1);
      const handle = await store.bindUser(kept, 'ada', {});
      await store.setValue(other, 'k', 1);
      await store.bindUser(other, 'ada', {});
      clock.t += 1;
      await admin.query(`INSERT INTO "${table}_users" (user_id, revoked_before) VALUES ('ada', $1)`, [clock.t]);
      clock.t += 1;
      assert.equal(await store.revokeUserSessions('ada', handle), 0, 'both were already ended by the stamp');
      assert.equal(await store.getValue(kept, 'k'), undefined, 'the excepted session stays ended');
      assert.equal(await store.getValue(other, 'k'), undefined);
      await store.stop();
    });

    it('binds after a stamp written by a clock ahead of its own, and cuts long user agents', async () => {
      const table = tableName('ahead');
      const { store, clock } = await started(table);
      await admin.query(`INSERT INTO "${table}_users" (user_id, revoked_before) VALUES ('ada', $1)`, [clock.t + 5000]);
      const s = generateSessionId();
      await store.setValue(s, 'k', 1);
      const handle = await store.bindUser(s, 'ada', { userAgent: 'u'.repeat(300) });
      assert.equal(await store.getValue(s, 'k'), 1, 'the bind is after the revoke: it is not caught by its stamp');
      assert.deepEqual(await store.userOf(s), { userId: 'ada', handle });
      assert.equal((await store.listUserSessions('ada'))[0]?.userAgent, 'u'.repeat(256));
      await store.stop();
    });

    it('keeps concurrent binds of one user within maxSessionsPerUser', async () => {
      const table = tableName('cap');
      const { store } = await started(table, { maxSessionsPerUser: 3 });
      const ids = Array.from({ length: 12 }, () => generateSessionId());
      for (const id of ids) await store.setValue(id, 'k', 1);
      await Promise.all(ids.map((id) => store.bindUser(id, 'ada', {})));
      assert.equal((await store.listUserSessions('ada')).length, 3);
      const live = await admin.query(`SELECT count(*)::int AS n FROM "${table}" WHERE user_id = 'ada' AND gone_at IS NULL`);
      assert.equal(live.rows[0].n, 3);
      await store.stop();
    });

    it("lists a user's sessions through the user index, not a scan of all sessions", async () => {
      const table = tableName('plan');
      const { store } = await started(table);
      await admin.query(
        `INSERT INTO "${table}" (id, created_at, seen_at, user_id, handle, bound_at)
         SELECT 'h' || i, $1::bigint, $1::bigint, 'user' || (i % 1000), 'handle' || i, $1::bigint FROM generate_series(1, 20000) i`,
        [T0],
      );
      await admin.query(`ANALYZE "${table}"`);
      const plan = await admin.query(`EXPLAIN (FORMAT JSON) ${listSql(`"${table}"`, `"${table}_users"`)}`, [T0, 30_000, 10_000, 'user7']);
      const text = JSON.stringify(plan.rows[0]);
      assert.ok(text.includes(`"Index Name":"${table}_user_idx"`), `the plan reads ${table}_user_idx: ${text}`);
      assert.ok(!text.includes('"Seq Scan"'), 'no sequential scan');
      assert.equal((await store.listUserSessions('user7')).length, 20);
      await store.stop();
    });
  });

  describe('postgres store: deadlocks', () => {
    it('runs a transaction PostgreSQL broke off as a deadlock again, up to three times', async () => {
      // A real deadlock needs two binds swapping sessions between users at the same instant; here
      // the driver reports one (SQLSTATE 40P01) on the session insert, `deadlocks` times in a row.
      let deadlocks = 0;
      const pool = new pg.Pool({ connectionString: url, max: 2 });
      pool.on('connect', (client) => {
        const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
        (client as unknown as { query: unknown }).query = (...args: unknown[]) => {
          if (typeof args[0] === 'string' && args[0].startsWith('INSERT INTO') && deadlocks > 0) {
            deadlocks -= 1;
            return Promise.reject(Object.assign(new Error('deadlock detected'), { code: '40P01' }));
          }
          return query(...args);
        };
      });
      const { store } = await started(tableName('deadlock'), {}, { pool });
      const s = generateSessionId();
      deadlocks = 2;
      await store.setValue(s, 'k', 1);
      assert.equal(await store.getValue(s, 'k'), 1, 'the third attempt went through');
      deadlocks = 3;
      await rejectsWith(store.bindUser(generateSessionId(), 'ada', {}), 'NOVA_ERR_SESSION_STORE_UNAVAILABLE');
      assert.equal(deadlocks, 0);
      await store.stop();
      await pool.end();
    });
  });

  describe('postgres store: sweeper and expiry', () => {
    it('reports expiry found by a read or a listing once, with the hashed id and the user', async () => {
      const table = tableName('readexp');
      const expired: Array<[string, string | undefined]> = [];
      const { store, clock } = await started(table, { onExpired: (hash, user) => void expired.push([hash, user]) });
      const [s, anon] = [generateSessionId(), generateSessionId()];
      await store.setValue(s, 'k', 1);
      await store.bindUser(s, 'ada', {});
      await store.setValue(anon, 'k', 1);
      const listed = generateSessionId();
      await store.bindUser(listed, 'bob', {});
      clock.t += 11_000;
      assert.equal(await store.getValue(s, 'k'), undefined);
      assert.equal(await store.getValue(s, 'k'), undefined);
      await rejectsWith(store.setValue(anon, 'k', 2), 'NOVA_ERR_SESSION_GONE');
      assert.deepEqual(await store.listUserSessions('bob'), []);
      assert.deepEqual(await store.listUserSessions('bob'), []);
      assert.deepEqual(expired, [
        [hashSessionId(s), 'ada'],
        [hashSessionId(anon), undefined],
        [hashSessionId(listed), 'bob'],
      ]);
      await store.stop();
    });

    it('reports swept sessions to onExpired by hash, survives a throwing hook, and forgets old stamps', async () => {
      const table = tableName('sweepu');
      const expired: Array<[string, string | undefined]> = [];
      const { store, clock } = await started(table, {
        onExpired: (hash, user) => {
          expired.push([hash, user]);
          throw new Error('a broken hook');
        },
      });
      const [s, anon] = [generateSessionId(), generateSessionId()];
      await store.setValue(s, 'k', 1);
      await store.bindUser(s, 'ada', {});
      await store.setValue(anon, 'k', 1);
      assert.equal(await store.revokeUserSessions('bob'), 0);
      const stamps = async () => (await admin.query(`SELECT user_id FROM "${table}_users"`)).rows.map((r: { user_id: string }) => r.user_id);
      assert.deepEqual(await stamps(), ['bob']);
      clock.t += 11_000;
      assert.equal(await store.sweep(), 2);
      assert.deepEqual(
        expired.sort(),
        [
          [hashSessionId(s), 'ada'],
          [hashSessionId(anon), undefined],
        ].sort(),
      );
      assert.deepEqual(await stamps(), ['bob'], 'a stamp is kept while a session bound before it could live');
      clock.t += 20_000; // the stamp is now one absolute timeout old; the tombstones are not yet
      assert.equal(await store.sweep(), 1);
      assert.deepEqual(await stamps(), []);
      clock.t += 10_000;
      assert.equal(await store.sweep(), 2, 'the two tombstones');
      assert.equal(expired.length, 2, 'nothing reported twice');
      await store.stop();
    });

    it('upgrades the tables of an earlier version in place', async () => {
      const table = tableName('old');
      // The schema before sessions per user, with a row keyed by a raw id.
      await admin.query(`CREATE TABLE "${table}" (id text PRIMARY KEY, created_at bigint NOT NULL, seen_at bigint NOT NULL,
          bytes integer NOT NULL DEFAULT 0, gone_at bigint);
        CREATE TABLE "${table}_values" (session_id text NOT NULL REFERENCES "${table}" (id) ON DELETE CASCADE,
          key text NOT NULL, value text NOT NULL, bytes integer NOT NULL, PRIMARY KEY (session_id, key));`);
      const legacy = generateSessionId();
      await admin.query(`INSERT INTO "${table}" VALUES ($1, $2, $2, 3, NULL)`, [legacy, T0]);
      await admin.query(`INSERT INTO "${table}_values" VALUES ($1, 'k', '1', 2)`, [legacy]);
      const { store, clock } = await started(table);
      assert.equal(await store.getValue(legacy, 'k'), undefined, 'a session stored under its raw id is not found');
      const s = generateSessionId();
      await store.setValue(s, 'k', 1);
      const handle = await store.bindUser(s, 'ada', { userAgent: 'ua' });
      assert.deepEqual(
        (await store.listUserSessions('ada')).map((x) => x.handle),
        [handle],
      );
      assert.equal(await store.revokeUserSessions('ada'), 1);
      clock.t += 11_000;
      await store.sweep();
      clock.t += 30_000;
      await store.sweep();
      const left = await admin.query(`SELECT count(*)::int AS n FROM "${table}"`);
      assert.equal(left.rows[0].n, 0, 'the sweeper removed the old row too');
      await store.stop();
    });

    it('starts next to a busy up-to-date table without waiting for a lock on it', async () => {
      const table = tableName('busy');
      await (await started(table)).store.stop();
      const client = await admin.connect();
      try {
        await client.query('BEGIN');
        // What a long write transaction holds: ALTER TABLE would queue behind it, and every request behind that.
        await client.query(`LOCK TABLE "${table}" IN ROW EXCLUSIVE MODE`);
        const store = postgresStore({ url, table });
        const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('start() waited for the lock')), 3000).unref());
        await Promise.race([store.start(OPTIONS), timeout]);
        await store.stop();
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    });

    it('takes a 50-character table name, every derived name within the 63-byte limit', async () => {
      const table = tableName('long').padEnd(50, 'x');
      tables.push(table);
      const { store } = await started(table);
      await store.bindUser(generateSessionId(), 'ada', {});
      const found = await admin.query(`SELECT indexname FROM pg_indexes WHERE tablename LIKE $1 ORDER BY indexname`, [`${table}%`]);
      const names = found.rows.map((r: { indexname: string }) => r.indexname);
      for (const suffix of ['_created_idx', '_gone_idx', '_handle_idx', '_seen_idx', '_user_idx', '_users_idx']) {
        assert.ok(names.includes(`${table}${suffix}`), `${table}${suffix} in ${names.join(', ')}`);
      }
      await store.stop();
    });
  });
}
