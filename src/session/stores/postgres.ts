/**
 * The PostgreSQL session store: sessions survive a restart of the app and are shared by every
 * node. One row per session (timestamps, size, tombstone mark) and one row per key, so writes of
 * different keys never overwrite each other. `pg` (node-postgres) is loaded only by `start()`.
 *
 * Schema: see `docs/postgres-schema.sql` (created on start unless `createTable: false`).
 */
import type { Pool, PoolClient } from 'pg';
import { NovaError, errors } from '../../errors.js';
import type { Json } from '../../results/result.js';
import {
  checkStoreOptions,
  encodeSessionValue,
  entryBytes,
  storeUnavailable,
  type SessionStore,
  type SessionStoreOptions,
} from '../store.js';

/** Options of `postgresStore`. */
export interface PostgresStoreOptions {
  /** Connection URL; default `process.env.DATABASE_URL`, then `postgres://postgres@127.0.0.1:5432/postgres`. */
  url?: string;
  /** Sessions table; the values table is `<table>_values`. Plain identifier, default `nova_sessions`. */
  table?: string;
  /** Bring your own pool; the store then never ends it. */
  pool?: Pool;
  /** Create the tables and indexes on start when missing (default true). */
  createTable?: boolean;
  /** How often expired sessions and old tombstones are removed, in ms (default 60 000). */
  sweepIntervalMs?: number;
  /** Rows removed per statement by the sweeper (default 1000). */
  sweepBatch?: number;
  /** Connection timeout in ms, so calls fail fast when the server is down (default 3000). */
  connectionTimeoutMillis?: number;
  /** Most connections the store's own pool opens (default 10; ignored with `pool`). */
  poolSize?: number;
}

/** The PostgreSQL store, plus its sweeper for tests and cron-like use. */
export interface PostgresSessionStore extends SessionStore {
  start(options?: Partial<SessionStoreOptions>): Promise<void>;
  /** Ends the pool (when the store created it) and the sweeper; later calls fail as unavailable. */
  stop(): Promise<void>;
  /**
   * One bounded sweep: turns at most `sweepBatch` expired sessions into tombstones and deletes at
   * most `sweepBatch` tombstones older than the absolute timeout. Returns the rows changed.
   */
  sweep(): Promise<number>;
  /** The sessions table name (the values table is `<table>_values`). */
  readonly table: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,49}$/;

interface SessionRow {
  created_at: string;
  seen_at: string;
  bytes: number;
  gone_at: string | null;
  old_bytes: number | null;
}

/** The DDL for a table name (already validated). */
export function postgresSchema(table = 'nova_sessions'): string {
  if (!IDENTIFIER.test(table)) throw errors.config('postgresStore.table', 'must match /^[a-z_][a-z0-9_]{0,49}$/');
  const s = `"${table}"`;
  const v = `"${table}_values"`;
  return `CREATE TABLE IF NOT EXISTS ${s} (
  id         text   PRIMARY KEY,
  created_at bigint NOT NULL,          -- ms since the epoch; kept by rotation
  seen_at    bigint NOT NULL,          -- last use, rewritten at most every touchIntervalMs
  bytes      integer NOT NULL DEFAULT 0, -- sum of the values' bytes (see entryBytes)
  gone_at    bigint                    -- not null: a tombstone (deleted, rotated or expired)
);
CREATE TABLE IF NOT EXISTS ${v} (
  session_id text    NOT NULL REFERENCES ${s} (id) ON DELETE CASCADE,
  key        text    NOT NULL,
  value      text    NOT NULL,         -- JSON text, as encodeSessionValue returns it
  bytes      integer NOT NULL,         -- entryBytes(key, value)
  PRIMARY KEY (session_id, key)
);
CREATE INDEX IF NOT EXISTS "${table}_seen_idx" ON ${s} (seen_at) WHERE gone_at IS NULL;
CREATE INDEX IF NOT EXISTS "${table}_created_idx" ON ${s} (created_at) WHERE gone_at IS NULL;
CREATE INDEX IF NOT EXISTS "${table}_gone_idx" ON ${s} (gone_at) WHERE gone_at IS NOT NULL;
`;
}

class PostgresStore implements PostgresSessionStore {
  readonly name = 'postgres';
  readonly table: string;
  private readonly s: string;
  private readonly v: string;
  private options: SessionStoreOptions = checkStoreOptions();
  private now: () => number = Date.now;
  private pool: Pool | undefined;
  private readonly ownPool: boolean;
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  private starting: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;
  private readonly where: string;

  constructor(private readonly config: PostgresStoreOptions) {
    this.table = config.table ?? 'nova_sessions';
    if (!IDENTIFIER.test(this.table)) {
      throw errors.config('postgresStore.table', 'must be a plain lower-case identifier matching /^[a-z_][a-z0-9_]{0,49}$/');
    }
    this.s = `"${this.table}"`;
    this.v = `"${this.table}_values"`;
    this.ownPool = config.pool === undefined;
    this.pool = config.pool;
    this.where = describeTarget(config);
  }

  async start(options: Partial<SessionStoreOptions> = {}): Promise<void> {
    if (this.state === 'stopped') throw storeUnavailable('the postgres store was stopped');
    const checked = checkStoreOptions(options);
    this.options = checked;
    this.now = checked.now ?? Date.now;
    if (this.state === 'running') return;
    this.state = 'starting';
    this.starting = this.connect();
    try {
      await this.starting;
    } catch (err) {
      this.state = 'new';
      this.starting = undefined;
      throw err;
    }
    this.state = 'running';
  }

  private async connect(): Promise<void> {
    if (this.pool === undefined) {
      const pg = (await import('pg')).default;
      this.pool = new pg.Pool({
        connectionString: this.config.url ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
        connectionTimeoutMillis: this.config.connectionTimeoutMillis ?? 3000,
        max: this.config.poolSize ?? 10,
      });
    }
    // An idle client losing its connection must not crash the process; the next query reports it.
    this.pool.on('error', () => {});
    const pool = this.pool;
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      if (this.ownPool) {
        this.pool = undefined;
        await pool.end().catch(() => {});
      }
      throw storeUnavailable(`cannot connect to PostgreSQL at ${this.where}: ${reasonOf(err)}`, err);
    }
    try {
      if (this.config.createTable ?? true) {
        await client.query('BEGIN');
        // Serialises concurrent starts: CREATE ... IF NOT EXISTS is not safe against itself.
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`nova-session-schema:${this.table}`]);
        await client.query(postgresSchema(this.table));
        await client.query('COMMIT');
      }
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw storeUnavailable(`cannot create the session tables at ${this.where}: ${reasonOf(err)}`, err);
    } finally {
      client.release();
    }
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.tick(), this.config.sweepIntervalMs ?? 60_000).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const wasStarting = this.starting;
    this.state = 'stopped';
    await wasStarting?.catch(() => {});
    if (this.ownPool && this.pool !== undefined) {
      const pool = this.pool;
      this.pool = undefined;
      await pool.end().catch(() => {});
    }
  }

  async getValue(id: string, key: string): Promise<Json | undefined> {
    const pool = await this.ready();
    const now = this.now();
    const { idleTimeoutMs: idle, absoluteTimeoutMs: abs, touchIntervalMs: touch } = this.options;
    // One statement: read the value of a live session and touch it when the throttle allows.
    // A data-modifying CTE always runs, whether or not the main query reads it.
    const sql = `WITH t AS (
        UPDATE ${this.s} SET seen_at = $2 WHERE id = $1 AND gone_at IS NULL
          AND seen_at <= $2::bigint - $5::bigint AND created_at > $2::bigint - $3::bigint AND seen_at > $2::bigint - $4::bigint
        RETURNING id)
      SELECT s.created_at, s.seen_at, s.gone_at,
        (SELECT value FROM ${this.v} WHERE session_id = $1 AND key = $6) AS value
      FROM ${this.s} s WHERE s.id = $1`;
    const result = await this.query(pool, sql, [id, now, abs, idle, touch, key]);
    const row = result.rows[0] as { created_at: string; seen_at: string; gone_at: string | null; value: string | null } | undefined;
    if (row === undefined || row.gone_at !== null) return undefined;
    if (this.expired(row, now)) {
      await this.expire(id);
      return undefined;
    }
    return row.value === null ? undefined : (JSON.parse(row.value) as Json);
  }

  async setValue(id: string, key: string, value: Json): Promise<void> {
    const pool = await this.ready();
    checkId(id);
    const text = encodeSessionValue(key, value);
    const added = entryBytes(key, text);
    const limit = this.options.maxSessionBytes;
    await this.transaction(pool, async (client, now) => {
      // Lazy creation; ON CONFLICT waits for a concurrent creator, and the row lock below
      // serialises every writer of this session.
      await client.query(
        `INSERT INTO ${this.s} (id, created_at, seen_at, bytes) VALUES ($1, $2, $2, 0) ON CONFLICT (id) DO NOTHING`,
        [id, now],
      );
      const row = await this.lock(client, id, key);
      if (row === undefined || row.gone_at !== null) throw errors.sessionGone();
      if (this.expired(row, now)) {
        await this.bury(client, id, now);
        return errors.sessionGone(); // committed, then thrown
      }
      const bytes = row.bytes - (row.old_bytes ?? 0) + added;
      if (bytes > limit) throw errors.sessionTooLarge(bytes, limit);
      await client.query(
        `WITH u AS (
           INSERT INTO ${this.v} (session_id, key, value, bytes) VALUES ($1, $2, $3, $4)
           ON CONFLICT (session_id, key) DO UPDATE SET value = EXCLUDED.value, bytes = EXCLUDED.bytes)
         UPDATE ${this.s} SET bytes = $5, seen_at = CASE WHEN seen_at <= $6::bigint - $7::bigint THEN $6 ELSE seen_at END
         WHERE id = $1`,
        [id, key, text, added, bytes, now, this.options.touchIntervalMs],
      );
      return undefined;
    });
  }

  async deleteValue(id: string, key?: string): Promise<void> {
    const pool = await this.ready();
    await this.transaction(pool, async (client, now) => {
      const row = await this.lock(client, id, key ?? '');
      // Unknown ids get no tombstone: an anonymous logout must not create records (CVE-2015-5963).
      if (row === undefined || row.gone_at !== null) return undefined;
      if (key === undefined || this.expired(row, now)) {
        await this.bury(client, id, now);
        return undefined;
      }
      if (row.old_bytes === null) return undefined;
      await client.query(
        `WITH d AS (DELETE FROM ${this.v} WHERE session_id = $1 AND key = $2)
         UPDATE ${this.s} SET bytes = bytes - $3, seen_at = CASE WHEN seen_at <= $4::bigint - $5::bigint THEN $4 ELSE seen_at END
         WHERE id = $1`,
        [id, key, row.old_bytes, now, this.options.touchIntervalMs],
      );
      return undefined;
    });
  }

  async rotate(oldId: string, newId: string): Promise<void> {
    const pool = await this.ready();
    checkId(newId);
    if (oldId === newId) throw errors.sessionIdInvalid('the new id is already in use');
    await this.transaction(pool, async (client, now) => {
      const taken = await client.query(`SELECT 1 FROM ${this.s} WHERE id = $1`, [newId]);
      if (taken.rowCount !== 0) throw errors.sessionIdInvalid('the new id is already in use');
      const row = await this.lock(client, oldId, '');
      if (row === undefined) return undefined; // nothing was ever stored: nothing to record
      if (row.gone_at !== null) throw errors.sessionGone();
      if (this.expired(row, now)) {
        await this.bury(client, oldId, now);
        return errors.sessionGone();
      }
      try {
        await client.query(
          `INSERT INTO ${this.s} (id, created_at, seen_at, bytes) VALUES ($1, $2, $3, $4)`,
          [newId, row.created_at, now, row.bytes],
        );
      } catch (err) {
        if ((err as { code?: unknown }).code === '23505') throw errors.sessionIdInvalid('the new id is already in use');
        throw err;
      }
      await client.query(`UPDATE ${this.v} SET session_id = $2 WHERE session_id = $1`, [oldId, newId]);
      await client.query(`UPDATE ${this.s} SET gone_at = $2, bytes = 0 WHERE id = $1`, [oldId, now]);
      return undefined;
    });
  }

  async sweep(): Promise<number> {
    const pool = await this.ready();
    const now = this.now();
    const batch = this.config.sweepBatch ?? 1000;
    const { idleTimeoutMs: idle, absoluteTimeoutMs: abs } = this.options;
    // Expired live sessions become tombstones (their values go with them) ...
    const dead = await this.query(
      pool,
      `WITH dead AS (
         UPDATE ${this.s} SET gone_at = $1, bytes = 0 WHERE ctid IN (
           SELECT ctid FROM ${this.s} WHERE gone_at IS NULL
             AND (created_at <= $1::bigint - $2::bigint OR seen_at <= $1::bigint - $3::bigint)
           LIMIT $4 FOR UPDATE SKIP LOCKED)
         RETURNING id),
       gone AS (DELETE FROM ${this.v} WHERE session_id IN (SELECT id FROM dead))
       SELECT count(*)::int AS n FROM dead`,
      [now, abs, idle, batch],
    );
    // ... and tombstones older than one absolute timeout are removed.
    const old = await this.query(
      pool,
      `DELETE FROM ${this.s} WHERE ctid IN (
         SELECT ctid FROM ${this.s} WHERE gone_at IS NOT NULL AND gone_at <= $1::bigint - $2::bigint LIMIT $3)`,
      [now, abs, batch],
    );
    return ((dead.rows[0] as { n: number } | undefined)?.n ?? 0) + (old.rowCount ?? 0);
  }

  private async tick(): Promise<void> {
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

  /** Lock the session row; also reads the bytes of `key`'s current value. */
  private async lock(client: PoolClient, id: string, key: string): Promise<SessionRow | undefined> {
    const result = await client.query(
      `SELECT created_at, seen_at, bytes, gone_at,
         (SELECT bytes FROM ${this.v} WHERE session_id = $1 AND key = $2) AS old_bytes
       FROM ${this.s} WHERE id = $1 FOR UPDATE`,
      [id, key],
    );
    return result.rows[0] as SessionRow | undefined;
  }

  /** Turn a session into a tombstone; its values are deleted. */
  private async bury(client: PoolClient, id: string, now: number): Promise<void> {
    await client.query(
      `WITH d AS (DELETE FROM ${this.v} WHERE session_id = $1)
       UPDATE ${this.s} SET gone_at = $2, bytes = 0 WHERE id = $1 AND gone_at IS NULL`,
      [id, now],
    );
  }

  /** A read found an expired session: make it a tombstone (rechecked under the row lock). */
  private async expire(id: string): Promise<void> {
    const pool = await this.ready();
    await this.transaction(pool, async (client, now) => {
      const row = await this.lock(client, id, '');
      if (row !== undefined && row.gone_at === null && this.expired(row, now)) await this.bury(client, id, now);
      return undefined;
    });
  }

  private expired(row: { created_at: string; seen_at: string }, now: number): boolean {
    const { idleTimeoutMs, absoluteTimeoutMs } = this.options;
    return now >= Number(row.created_at) + absoluteTimeoutMs || now >= Number(row.seen_at) + idleTimeoutMs;
  }

  /**
   * Run `body` in a transaction. A NovaError thrown by `body` rolls back and is rethrown; one it
   * returns is thrown after the commit (a tombstone written before refusing the write).
   */
  private async transaction(
    pool: Pool,
    body: (client: PoolClient, now: number) => Promise<NovaError | undefined>,
  ): Promise<void> {
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw this.unavailable(err);
    }
    let outcome: NovaError | undefined;
    let broken: unknown;
    try {
      await client.query('BEGIN');
      outcome = await body(client, this.now());
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch((e: unknown) => {
        broken = e;
      });
      if (err instanceof NovaError) throw err;
      broken = err;
      throw this.unavailable(err);
    } finally {
      // A client whose connection failed is destroyed, not returned to the pool.
      client.release(broken instanceof Error ? broken : undefined);
    }
    if (outcome !== undefined) throw outcome;
  }

  private async query(pool: Pool, sql: string, params: unknown[]) {
    try {
      return await pool.query(sql, params);
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  private unavailable(err: unknown): NovaError {
    return storeUnavailable(`PostgreSQL at ${this.where} failed: ${reasonOf(err)}`, err);
  }

  /** The pool, starting with default options when the app never called start(). */
  private async ready(): Promise<Pool> {
    if (this.state === 'stopped') throw storeUnavailable('the postgres store was stopped');
    if (this.state === 'new') await this.start({});
    else if (this.state === 'starting') await this.starting;
    if (this.pool === undefined) throw storeUnavailable('the postgres store was stopped');
    return this.pool;
  }
}

function checkId(id: string): void {
  if (typeof id !== 'string' || id.length === 0) throw errors.sessionIdInvalid('a session id must be a non-empty string');
}

/** host:port of the target, never the password. */
function describeTarget(config: PostgresStoreOptions): string {
  if (config.pool !== undefined) {
    const o = (config.pool as unknown as { options?: { host?: string; port?: number } }).options ?? {};
    return `${o.host ?? 'localhost'}:${o.port ?? 5432}`;
  }
  const url = config.url ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}`;
  } catch {
    return 'an unparsable URL';
  }
}

/** A short reason from a driver error: its code and message, without connection strings. */
function reasonOf(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message.replace(/postgres(ql)?:\/\/\S*/g, '<url>') : String(err);
  return typeof e?.code === 'string' && !message.includes(e.code) ? `${e.code} ${message}` : message;
}

/**
 * The PostgreSQL session store. Per-key rows with upserts, expiry from stored timestamps checked
 * in every query, tombstones for deleted, rotated and expired ids, and a sweeper on an unref'd
 * timer that removes expired sessions and old tombstones in bounded batches.
 *
 * `maxSessions` is not enforced: counting live rows on every new session is not cheap.
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
