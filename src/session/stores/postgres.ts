/**
 * The PostgreSQL session store: sessions survive a restart of the app and are shared by every
 * node. One row per session (timestamps, size, tombstone mark, user binding) and one row per key,
 * so writes of different keys never overwrite each other. `pg` (node-postgres) is loaded only by
 * `start()`. Sessions are keyed by `hashSessionId(id)`: no table, statement parameter or backup
 * ever holds a raw session id.
 *
 * Schema: see `docs/postgres-schema.sql` (created or upgraded on start unless `createTable: false`).
 */
import { errors } from '../../errors.js';
import type { Json } from '../../results/result.js';
import { encodeSessionValue, entryBytes, type SessionStore, type SessionStoreOptions } from '../store.js';
import type { SessionTake, SessionUserIndex } from '../users.js';
import { EXPIRED, unbind, type PostgresStoreOptions } from './postgres-core.js';
import { PostgresUsers } from './postgres-users.js';

export type { PostgresStoreOptions } from './postgres-core.js';
export { postgresSchema } from './postgres-schema.js';

/** The PostgreSQL store, plus its sweeper for tests and cron-like use. */
export interface PostgresSessionStore extends Omit<SessionStore, keyof SessionUserIndex | keyof SessionTake>, SessionUserIndex, SessionTake {
  start(options?: Partial<SessionStoreOptions>): Promise<void>;
  /** Ends the pool (when the store created it) and the sweeper; later calls fail as unavailable. */
  stop(): Promise<void>;
  /**
   * One bounded sweep: turns at most `sweepBatch` expired sessions into tombstones (reporting each
   * to `onExpired`), deletes at most `sweepBatch` tombstones older than the absolute timeout and at
   * most `sweepBatch` revocation stamps older than it. Returns the rows changed.
   */
  sweep(): Promise<number>;
  /** The sessions table name (the others are `<table>_values` and `<table>_users`). */
  readonly table: string;
}

class PostgresStore extends PostgresUsers implements PostgresSessionStore {
  private sweeping = false;

  async getValue(id: string, key: string): Promise<Json | undefined> {
    const k = this.keyOf(id);
    const now = this.now();
    const { idleTimeoutMs: idle, absoluteTimeoutMs: abs, touchIntervalMs: touch } = this.options;
    const { s, v, u } = this.t;
    // One statement: read the value of a live session and touch it when the throttle allows.
    // A data-modifying CTE always runs, whether or not the main query reads it.
    const sql = `WITH t AS (
        UPDATE ${s} SET seen_at = $2 WHERE id = $1 AND gone_at IS NULL
          AND seen_at <= $2::bigint - $5::bigint AND created_at > $2::bigint - $3::bigint AND seen_at > $2::bigint - $4::bigint
        RETURNING id)
      SELECT x.created_at, x.seen_at, x.gone_at, x.bound_at,
        (SELECT revoked_before FROM ${u} WHERE user_id = x.user_id) AS revoked_before,
        (SELECT value FROM ${v} WHERE session_id = $1 AND key = $6) AS value
      FROM ${s} x WHERE x.id = $1`;
    const result = await this.query(sql, [k, now, abs, idle, touch, key]);
    const row = result.rows[0] as
      | { created_at: string; seen_at: string; gone_at: string | null; bound_at: string | null; revoked_before: string | null; value: string | null }
      | undefined;
    if (row === undefined) return undefined;
    const state = this.stateOf(row, now);
    if (state === 'expired' || state === 'revoked') await this.settle(k);
    if (state !== 'live') return undefined;
    return row.value === null ? undefined : (JSON.parse(row.value) as Json);
  }

  async setValue(id: string, key: string, value: Json): Promise<void> {
    const k = this.keyOf(id, true);
    const text = encodeSessionValue(key, value);
    const added = entryBytes(key, text);
    const limit = this.options.maxSessionBytes;
    await this.transaction(async (tx) => {
      const { client, now } = tx;
      // Lazy creation; ON CONFLICT waits for a concurrent creator, and the row lock below
      // serialises every writer of this session.
      await client.query(`INSERT INTO ${this.t.s} (id, created_at, seen_at, bytes) VALUES ($1, $2, $2, 0) ON CONFLICT (id) DO NOTHING`, [k, now]);
      const row = await this.lock(client, k, key);
      if (row === undefined) throw errors.sessionGone();
      if (this.stateOf(row, now) !== 'live') return this.end(tx, k, row);
      const bytes = row.bytes - (row.old_bytes ?? 0) + added;
      if (bytes > limit) throw errors.sessionTooLarge(bytes, limit);
      await client.query(
        `WITH w AS (
           INSERT INTO ${this.t.v} (session_id, key, value, bytes) VALUES ($1, $2, $3, $4)
           ON CONFLICT (session_id, key) DO UPDATE SET value = EXCLUDED.value, bytes = EXCLUDED.bytes)
         UPDATE ${this.t.s} SET bytes = $5, seen_at = CASE WHEN seen_at <= $6::bigint - $7::bigint THEN $6 ELSE seen_at END
         WHERE id = $1`,
        [k, key, text, added, bytes, now, this.options.touchIntervalMs],
      );
      return undefined;
    });
  }

  async takeValue(id: string, key: string): Promise<Json | undefined> {
    const k = this.keyOf(id);
    return this.transaction(async (tx) => {
      const { client, now } = tx;
      // The row lock makes concurrent takes of one session wait in turn: only the first finds the key.
      const row = await this.lock(client, k, key);
      // An unknown id records nothing; a dead one answers nothing (and is buried if it just died).
      if (row === undefined) return undefined;
      if (this.stateOf(row, now) !== 'live') {
        await this.end(tx, k, row);
        return undefined;
      }
      // Most takes find nothing (every page that shows flash messages, when there are none): then
      // only a touch that is due is written, so such a page leaves no dead row behind.
      if (row.old_bytes === null) {
        if (now - Number(row.seen_at) >= this.options.touchIntervalMs) {
          await client.query(`UPDATE ${this.t.s} SET seen_at = $2 WHERE id = $1`, [k, now]);
        }
        return undefined;
      }
      const result = await client.query(
        `WITH d AS (DELETE FROM ${this.t.v} WHERE session_id = $1 AND key = $2 RETURNING value, bytes)
         UPDATE ${this.t.s} SET bytes = bytes - coalesce((SELECT bytes FROM d), 0),
           seen_at = CASE WHEN seen_at <= $3::bigint - $4::bigint THEN $3 ELSE seen_at END
         WHERE id = $1 RETURNING (SELECT value FROM d) AS value`,
        [k, key, now, this.options.touchIntervalMs],
      );
      const taken = (result.rows[0] as { value: string | null } | undefined)?.value ?? null;
      return taken === null ? undefined : (JSON.parse(taken) as Json);
    });
  }

  async deleteValue(id: string, key?: string): Promise<void> {
    const k = this.keyOf(id);
    await this.transaction(async (tx) => {
      const { client, now } = tx;
      const row = await this.lock(client, k, key ?? '');
      // Unknown ids get no tombstone: an anonymous logout must not create records (CVE-2015-5963).
      if (row === undefined || row.gone_at !== null) return undefined;
      if (this.stateOf(row, now) !== 'live') {
        await this.end(tx, k, row);
        return undefined;
      }
      if (key === undefined) {
        await this.bury(client, k, now);
        return undefined;
      }
      if (row.old_bytes === null) return undefined;
      await client.query(
        `WITH d AS (DELETE FROM ${this.t.v} WHERE session_id = $1 AND key = $2)
         UPDATE ${this.t.s} SET bytes = bytes - $3, seen_at = CASE WHEN seen_at <= $4::bigint - $5::bigint THEN $4 ELSE seen_at END
         WHERE id = $1`,
        [k, key, row.old_bytes, now, this.options.touchIntervalMs],
      );
      return undefined;
    });
  }

  async rotate(oldId: string, newId: string): Promise<void> {
    const oldKey = this.keyOf(oldId);
    const newKey = this.keyOf(newId, true);
    if (oldId === newId) throw errors.sessionIdInvalid('the new id is already in use');
    await this.transaction(async (tx) => {
      const { client, now } = tx;
      const taken = await client.query(`SELECT 1 FROM ${this.t.s} WHERE id = $1`, [newKey]);
      if (taken.rowCount !== 0) throw errors.sessionIdInvalid('the new id is already in use');
      const row = await this.lock(client, oldKey, '');
      if (row === undefined) return undefined; // nothing was ever stored: nothing to record
      if (this.stateOf(row, now) !== 'live') return this.end(tx, oldKey, row);
      // The old row gives up its handle first (handles are unique), then the new row takes the
      // binding as it was: user, handle, bind time and client details survive the rotation.
      await client.query(`UPDATE ${this.t.s} SET ${unbind(2)} WHERE id = $1`, [oldKey, now]);
      try {
        await client.query(
          `INSERT INTO ${this.t.s} (id, created_at, seen_at, bytes, user_id, handle, bound_at, user_agent, ip)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [newKey, row.created_at, now, row.bytes, row.user_id, row.handle, row.bound_at, row.user_agent, row.ip],
        );
      } catch (err) {
        if ((err as { code?: unknown }).code === '23505') throw errors.sessionIdInvalid('the new id is already in use');
        throw err;
      }
      await client.query(`UPDATE ${this.t.v} SET session_id = $2 WHERE session_id = $1`, [oldKey, newKey]);
      return undefined;
    });
  }

  async sweep(): Promise<number> {
    const now = this.now();
    const batch = this.config.sweepBatch ?? 1000;
    const abs = this.options.absoluteTimeoutMs;
    const run = (sql: string, params: unknown[]) => this.query(sql, params);
    // Expired live sessions become tombstones (their values go with them; a session revoked by a
    // stamp is found by its next read, or expires) ...
    const dead = await this.buryMany(run, now, EXPIRED, [batch], 'LIMIT $4 FOR UPDATE SKIP LOCKED');
    for (const d of dead) if (d.expired) this.reportExpired(d.id, d.user_id);
    // ... tombstones older than one absolute timeout are removed ...
    const old = await this.query(
      `DELETE FROM ${this.t.s} WHERE ctid IN (
         SELECT ctid FROM ${this.t.s} WHERE gone_at IS NOT NULL AND gone_at <= $1::bigint - $2::bigint LIMIT $3)`,
      [now, abs, batch],
    );
    // ... and so are revocation stamps: no session bound before one can still be alive.
    const stamps = await this.query(
      `DELETE FROM ${this.t.u} WHERE user_id IN (
         SELECT user_id FROM ${this.t.u} WHERE revoked_before <= $1::bigint - $2::bigint LIMIT $3)`,
      [now, abs, batch],
    );
    return dead.length + (old.rowCount ?? 0) + (stamps.rowCount ?? 0);
  }

  protected override async tick(): Promise<void> {
    if (this.sweeping || this.state !== 'running') return;
    this.sweeping = true;
    try {
      // A full batch means more is due: keep going, one bounded batch per loop turn.
      const batch = this.config.sweepBatch ?? 1000;
      while (this.state === 'running' && (await this.sweep()) >= batch) {
        await new Promise((resolve) => setTimeout(resolve, 0).unref());
      }
    } catch {
      // The server is down: the next tick tries again; requests report the outage themselves.
    } finally {
      this.sweeping = false;
    }
  }
}

/**
 * The PostgreSQL session store. Per-key rows with upserts, ids hashed at rest, expiry from stored
 * timestamps checked in every query, tombstones for deleted, rotated, expired and revoked ids, a
 * per-user index with revocation stamps, and a sweeper on an unref'd timer that removes expired
 * sessions, old tombstones and old stamps in bounded batches.
 *
 * `maxSessions` is not enforced: counting live rows on every new session is not cheap. Nor is `maxStoreBytes`: the sessions are in the database, not in this process.
 *
 * @example
 * ```ts
 * const store = postgresStore({ url: process.env.DATABASE_URL });
 * await store.start({ idleTimeoutMs: 1_800_000, absoluteTimeoutMs: 28_800_000,
 *   touchIntervalMs: 60_000, maxSessionBytes: 65_536, maxSessions: 100_000 });
 * await store.setValue(generateSessionId(), 'username', 'alice');
 * await store.stop();
 * ```
 */
export function postgresStore(options: PostgresStoreOptions = {}): PostgresSessionStore {
  return new PostgresStore(options);
}
