/**
 * The PostgreSQL store against a real server (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test).
 * Unreachable server: the tests fail when CI=true, and are skipped with a message otherwise.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { sessionStoreConformance } from '../../testing/session-store.suite.js';
import { rejectsWith } from '../../testing/session-store.lifecycle.js';
import { hashSessionId } from '../id-hash.js';
import { generateSessionId } from '../id.js';
import type { SessionStoreOptions } from '../store.js';
import { postgresSchema, postgresStore } from './postgres.js';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const runTag = randomBytes(4).toString('hex');
const tables: string[] = [];
function tableName(label: string): string {
  const name = `nova_test_${runTag}_${label}`;
  tables.push(name);
  return name;
}

const OPTIONS: SessionStoreOptions = {
  idleTimeoutMs: 10_000,
  absoluteTimeoutMs: 30_000,
  touchIntervalMs: 1000,
  maxSessionBytes: 1024,
  maxSessions: 100_000,
};

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
const where = (() => {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 5432}`;
})();

if (problem !== undefined) {
  const message = `PostgreSQL at ${where} is unreachable (${(problem as Error).message}); set DATABASE_URL`;
  if (process.env.CI === 'true') {
    it('postgres store: PostgreSQL must be reachable in CI', () => assert.fail(message));
  } else {
    it('postgres store (skipped)', { skip: message }, () => {});
  }
} else {
  const admin = new pg.Pool({ connectionString: url, max: 2 });

  after(async () => {
    for (const t of tables) {
      await admin.query(`DROP TABLE IF EXISTS "${t}_values", "${t}", "${t}_users"`).catch(() => {});
    }
    await admin.end();
  });

  const conformanceTable = tableName('conf');
  // The store keeps time from SessionStoreOptions.now, so the suite runs on a fake clock:
  // deterministic under any load. The real-time run uses long units (a session idles out after
  // 10 units): on a busy CI machine 100 writes serialised on one session's row lock can take over
  // a second, and 100 ms units would let the session expire mid-test.
  sessionStoreConformance('postgres, fake clock', () => postgresStore({ url, table: tableName('conf_fc') }));
  sessionStoreConformance('postgres', () => postgresStore({ url, table: conformanceTable }), { clock: false, unitMs: 400 });

  describe('postgres store', () => {
    it('creates its tables on start', async () => {
      const table = tableName('create');
      const store = postgresStore({ url, table });
      await store.start(OPTIONS);
      const found = await admin.query(`SELECT table_name FROM information_schema.tables WHERE table_name = ANY($1) ORDER BY table_name`, [
        [table, `${table}_values`],
      ]);
      assert.deepEqual(
        found.rows.map((r: { table_name: string }) => r.table_name),
        [table, `${table}_values`],
      );
      await store.start(OPTIONS); // a second start is harmless
      await store.stop();
      assert.match(postgresSchema(), /CREATE TABLE IF NOT EXISTS "nova_sessions"/);
    });

    it('documents the schema it creates in docs/postgres-schema.sql', () => {
      const docs = readFileSync(new URL('../../../../docs/postgres-schema.sql', import.meta.url), 'utf8');
      assert.ok(docs.includes(postgresSchema()), 'docs/postgres-schema.sql holds postgresSchema() verbatim');
    });

    it('refuses a table name that is not a plain identifier', () => {
      for (const bad of ['x"; DROP TABLE y; --', 'Upper', '1abc', '', 'a-b', 'a'.repeat(60)]) {
        assert.throws(
          () => postgresStore({ url, table: bad }),
          (err: { code?: string }) => err.code === 'NOVA_ERR_CONFIG',
          bad,
        );
      }
    });

    it('writes one row per key', async () => {
      const table = tableName('rows');
      const store = postgresStore({ url, table });
      await store.start(OPTIONS);
      const id = generateSessionId();
      await store.setValue(id, 'a', 1);
      await store.setValue(id, 'b', { x: [1, 2] });
      await store.setValue(id, 'a', 'again');
      const rows = await admin.query(`SELECT key, value, bytes FROM "${table}_values" WHERE session_id = $1 ORDER BY key`, [hashSessionId(id)]);
      assert.deepEqual(rows.rows, [
        { key: 'a', value: '"again"', bytes: 1 + 7 },
        { key: 'b', value: '{"x":[1,2]}', bytes: 1 + 11 },
      ]);
      const session = await admin.query(`SELECT bytes, gone_at FROM "${table}" WHERE id = $1`, [hashSessionId(id)]);
      assert.deepEqual(session.rows, [{ bytes: 20, gone_at: null }]);
      await store.deleteValue(id);
      const after = await admin.query(`SELECT count(*)::int AS n FROM "${table}_values" WHERE session_id = $1`, [hashSessionId(id)]);
      assert.equal(after.rows[0].n, 0, 'logout removes the values');
      await store.stop();
    });

    it('keeps concurrent writes of different keys from two store instances', async () => {
      const table = tableName('two');
      const [one, two] = [postgresStore({ url, table }), postgresStore({ url, table })];
      await Promise.all([one.start(OPTIONS), two.start(OPTIONS)]);
      const id = generateSessionId();
      await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? one : two).setValue(id, `k${i}`, i)));
      for (let i = 0; i < 40; i++) {
        assert.equal(await one.getValue(id, `k${i}`), i);
        assert.equal(await two.getValue(id, `k${i}`), i);
      }
      await two.deleteValue(id);
      await rejectsWith(one.setValue(id, 'late', 1), 'NOVA_ERR_SESSION_GONE');
      await Promise.all([one.stop(), two.stop()]);
    });

    it('removes expired sessions, then old tombstones, in bounded batches', async () => {
      const table = tableName('sweep');
      let t = 1_700_000_000_000;
      const store = postgresStore({ url, table, sweepBatch: 100, sweepIntervalMs: 1_000_000 });
      await store.start({ ...OPTIONS, now: () => t });
      const ids = Array.from({ length: 250 }, () => generateSessionId());
      for (const id of ids) await store.setValue(id, 'k', 1);
      const count = async (where: string) => (await admin.query(`SELECT count(*)::int AS n FROM "${table}" WHERE ${where}`)).rows[0].n as number;
      assert.equal(await store.sweep(), 0, 'nothing due yet');
      t += 11_000; // past the idle timeout
      assert.equal(await store.sweep(), 100, 'one batch at most');
      assert.equal(await store.sweep(), 100);
      assert.equal(await store.sweep(), 50);
      assert.equal(await count('gone_at IS NULL'), 0);
      assert.equal(await count('gone_at IS NOT NULL'), 250, 'tombstones are kept');
      assert.equal((await admin.query(`SELECT count(*)::int AS n FROM "${table}_values"`)).rows[0].n, 0);
      await rejectsWith(store.setValue(ids[0]!, 'k', 2), 'NOVA_ERR_SESSION_GONE');
      t += 30_000; // tombstones outlive one absolute timeout, then go
      let removed = 0;
      for (let n = await store.sweep(); n > 0; n = await store.sweep()) {
        assert.ok(n <= 100);
        removed += n;
      }
      assert.equal(removed, 250);
      assert.equal(await count('true'), 0);
      await store.stop();
    });

    it('runs the sweeper on its own timer', async () => {
      const table = tableName('timer');
      let t = 1_700_000_000_000;
      const store = postgresStore({ url, table, sweepIntervalMs: 20 });
      await store.start({ ...OPTIONS, now: () => t });
      await store.setValue(generateSessionId(), 'k', 1);
      t += 11_000;
      const end = Date.now() + 5000;
      while ((await admin.query(`SELECT count(*)::int AS n FROM "${table}" WHERE gone_at IS NULL`)).rows[0].n !== 0) {
        assert.ok(Date.now() < end, 'swept within 5 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await store.stop();
    });

    it('fails fast with NOVA_ERR_SESSION_STORE_UNAVAILABLE when the server is unreachable', async () => {
      const store = postgresStore({ url: 'postgres://postgres:secret-pw@127.0.0.1:1/test' });
      const started = Date.now();
      await assert.rejects(store.start(OPTIONS), (err: { code?: string; status?: number; message: string }) => {
        assert.equal(err.code, 'NOVA_ERR_SESSION_STORE_UNAVAILABLE');
        assert.equal(err.status, 503);
        assert.match(err.message, /127\.0\.0\.1:1\b/);
        assert.ok(!err.message.includes('secret-pw'), 'no password in the message');
        return true;
      });
      assert.ok(Date.now() - started < 5000, 'within the connection timeout');
      await store.stop();
    });

    it('works before start() with the default options', async () => {
      const table = tableName('nostart');
      const store = postgresStore({ url, table });
      const id = generateSessionId();
      await store.setValue(id, 'k', 'v');
      assert.equal(await store.getValue(id, 'k'), 'v');
      await store.stop();
    });

    it('uses a pool it is given and leaves it open on stop()', async () => {
      const pool = new pg.Pool({ connectionString: url, max: 2 });
      const store = postgresStore({ pool, table: tableName('byo') });
      await store.start(OPTIONS);
      const id = generateSessionId();
      await store.setValue(id, 'k', 1);
      await store.stop();
      assert.equal((await pool.query('SELECT 1 AS one')).rows[0].one, 1);
      await pool.end();
    });

    it('reports unavailable after stop()', async () => {
      const store = postgresStore({ url, table: tableName('stopped') });
      await store.start(OPTIONS);
      await store.stop();
      await rejectsWith(store.getValue(generateSessionId(), 'k'), 'NOVA_ERR_SESSION_STORE_UNAVAILABLE');
    });
  });
}
