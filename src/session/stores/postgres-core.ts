/**
 * The PostgreSQL store's plumbing: the pool and its lifecycle, transactions, the session row lock,
 * and the one way a session ends (`bury`). The store's operations (`postgres.ts`) and its per-user
 * index (`postgres-users.ts`) are built on it. Every id here is already hashed (`hashSessionId`):
 * nothing below the store's public methods ever sees a raw session id.
 */
import type { Pool, PoolClient, QueryResult } from './pg-types.js';
import { NovaError, errors } from '../../errors.js';
import { loadOptional } from '../../optional-package.js';
import { hashSessionId } from '../id-hash.js';
import { checkStoreOptions, storeUnavailable, type CheckedStoreOptions, type SessionStoreOptions } from '../store.js';
import { postgresSchema, postgresTables, type PostgresTables } from './postgres-schema.js';

/** Options of `postgresStore`. */
export interface PostgresStoreOptions {
  /** Connection URL; default `process.env.DATABASE_URL`, then `postgres://postgres@127.0.0.1:5432/postgres`. */
  url?: string;
  /** Sessions table; the others are `<table>_values` and `<table>_users`. Plain identifier, default `nova_sessions`. */
  table?: string;
  /** Bring your own pool; the store then never ends it. */
  pool?: Pool;
  /** Create (or upgrade) the tables and indexes on start (default true). */
  createTable?: boolean;
  /** How often expired sessions, old tombstones and old revocation stamps are removed, in ms (default 60 000). */
  sweepIntervalMs?: number;
  /** Rows removed per statement by the sweeper (default 1000). */
  sweepBatch?: number;
  /** Connection timeout in ms, so calls fail fast when the server is down (default 3000). */
  connectionTimeoutMillis?: number;
  /** Most connections the store's own pool opens (default 10; ignored with `pool`). */
  poolSize?: number;
}

/** A session row, locked by `lock`. Numbers come back from `bigint` columns as strings. */
export interface SessionRow {
  created_at: string;
  seen_at: string;
  bytes: number;
  gone_at: string | null;
  user_id: string | null;
  handle: string | null;
  bound_at: string | null;
  user_agent: string | null;
  ip: string | null;
  /** The revocation stamp of the session's user, when there is one. */
  revoked_before: string | null;
  /** The bytes of the key asked about, when it is set. */
  old_bytes: number | null;
}

/** Where a session stands: `revoked` is bound before its user's stamp (gone, but not by expiry). */
export type SessionState = 'live' | 'gone' | 'expired' | 'revoked';

/** One transaction: its client, its time, and the expiries to report once it committed. */
export interface Tx {
  client: PoolClient;
  now: number;
  expired(key: string, userId: string | null): void;
}

/** SQL setting a tombstone's columns, the time at `$n`: it keeps no user, no handle, no client details. */
export const unbind = (n: number) => `gone_at = $${n}, bytes = 0, user_id = NULL, handle = NULL, bound_at = NULL, user_agent = NULL, ip = NULL`;

/** SQL: the row has expired, with now, absoluteTimeoutMs and idleTimeoutMs at `$1`, `$2`, `$3`. */
export const EXPIRED = '(created_at <= $1::bigint - $2::bigint OR seen_at <= $1::bigint - $3::bigint)';

/** A session `buryMany` ended; `expired` and `revoked` as `stateOf` would have said. */
export interface DeadRow {
  id: string;
  user_id: string | null;
  expired: boolean;
  revoked: boolean;
}

/** Runs one statement: the pool (`PostgresCore.query`) or a transaction's client. */
export type Run = (sql: string, params: unknown[]) => Promise<QueryResult>;

export class PostgresCore {
  readonly name = 'postgres';
  readonly table: string;
  protected readonly t: PostgresTables;
  protected options: CheckedStoreOptions = checkStoreOptions();
  protected now: () => number = Date.now;
  private pool: Pool | undefined;
  private readonly ownPool: boolean;
  protected state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  private starting: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly where: string;

  constructor(protected readonly config: PostgresStoreOptions) {
    this.table = config.table ?? 'nova_sessions';
    this.t = postgresTables(this.table);
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

  /** Called on the sweeper's timer; the store overrides it. */
  protected async tick(): Promise<void> {}

  private async connect(): Promise<void> {
    if (this.pool === undefined) {
      const pg = (await loadOptional<typeof import('pg')>('pg', 'the PostgreSQL store')).default;
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
      // The DDL's ALTER TABLE waits for an exclusive lock even when it has nothing to add, which
      // would stall every request of the running nodes while one more starts: skip it when the
      // last object it creates is there (the script runs in one transaction, so all of it is).
      if ((this.config.createTable ?? true) && !(await this.schemaDone(client))) {
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

  private async schemaDone(client: PoolClient): Promise<boolean> {
    const result = await client.query('SELECT to_regclass($1) IS NOT NULL AS done', [`"${this.table}_users_idx"`]);
    return (result.rows[0] as { done: boolean }).done;
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

  /**
   * Run `body` in a transaction and return what it returns. A NovaError thrown by `body` rolls
   * back and is rethrown; one it returns is thrown after the commit (a tombstone written before
   * refusing the write). Expiries the body reports reach `onExpired` only once committed.
   * A deadlock (two binds swapping sessions between users can lock rows in opposite orders) is
   * rolled back by PostgreSQL and run again, up to three times, rather than failing the request.
   */
  protected async transaction<T>(body: (tx: Tx) => Promise<T | NovaError>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(body);
      } catch (err) {
        if (attempt >= 3 || (err as { cause?: { code?: unknown } }).cause?.code !== '40P01') throw err;
      }
    }
  }

  private async attempt<T>(body: (tx: Tx) => Promise<T | NovaError>): Promise<T> {
    const pool = await this.ready();
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw this.unavailable(err);
    }
    const events: Array<[string, string | null]> = [];
    let outcome: T | NovaError;
    let broken: unknown;
    try {
      await client.query('BEGIN');
      outcome = await body({ client, now: this.now(), expired: (key, userId) => void events.push([key, userId]) });
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
    for (const [key, userId] of events) this.reportExpired(key, userId);
    if (outcome instanceof NovaError) throw outcome;
    return outcome;
  }

  /** One statement outside a transaction. */
  protected async query(sql: string, params: unknown[]): Promise<QueryResult> {
    const pool = await this.ready();
    try {
      return await pool.query(sql, params);
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /** Tell the app a session expired. Its hook must not throw; if it does, the store carries on. */
  protected reportExpired(key: string, userId: string | null): void {
    try {
      this.options.onExpired?.(key, userId ?? undefined);
    } catch {
      // A broken hook must not turn a finished store operation into a failure.
    }
  }

  /** Lock the session row; also reads its user's revocation stamp and the bytes of `key`'s value. */
  protected async lock(client: PoolClient, key: string, valueKey: string): Promise<SessionRow | undefined> {
    const { s, v, u } = this.t;
    const result = await client.query(
      `SELECT created_at, seen_at, bytes, gone_at, user_id, handle, bound_at, user_agent, ip,
         (SELECT revoked_before FROM ${u} WHERE user_id = x.user_id) AS revoked_before,
         (SELECT bytes FROM ${v} WHERE session_id = $1 AND key = $2) AS old_bytes
       FROM ${s} x WHERE id = $1 FOR UPDATE`,
      [key, valueKey],
    );
    return result.rows[0] as SessionRow | undefined;
  }

  /** Where a session stands at `now`. */
  protected stateOf(row: Pick<SessionRow, 'created_at' | 'seen_at' | 'gone_at' | 'bound_at' | 'revoked_before'>, now: number): SessionState {
    if (row.gone_at !== null) return 'gone';
    // A revocation ends the session whether or not it would also have expired by now: no
    // `expired` event for a session that was killed.
    if (row.bound_at !== null && row.revoked_before !== null && Number(row.bound_at) < Number(row.revoked_before)) return 'revoked';
    const { idleTimeoutMs, absoluteTimeoutMs } = this.options;
    if (now >= Number(row.created_at) + absoluteTimeoutMs || now >= Number(row.seen_at) + idleTimeoutMs) return 'expired';
    return 'live';
  }

  /** Turn a session into a tombstone: values deleted, binding cleared (so it leaves the index). */
  protected async bury(client: PoolClient, key: string, now: number): Promise<void> {
    await client.query(
      `WITH d AS (DELETE FROM ${this.t.v} WHERE session_id = $1)
       UPDATE ${this.t.s} SET ${unbind(2)} WHERE id = $1 AND gone_at IS NULL`,
      [key, now],
    );
  }

  /**
   * Bury the live rows matching `where` (SQL over the sessions table; `$1`–`$3` are now and the
   * timeouts, `extra` are `$4` on), in one statement. `tail` orders, limits and locks the choice,
   * e.g. `FOR UPDATE SKIP LOCKED`. Returns the rows ended; the caller reports the expired ones.
   */
  protected async buryMany(run: Run, now: number, where: string, extra: unknown[], tail: string): Promise<DeadRow[]> {
    const { s, v, u } = this.t;
    const { absoluteTimeoutMs: abs, idleTimeoutMs: idle } = this.options;
    const result = await run(
      `WITH due AS (
         SELECT id, user_id, ${EXPIRED} AS expired,
           coalesce(bound_at < (SELECT revoked_before FROM ${u} WHERE user_id = y.user_id), false) AS revoked
         FROM ${s} y WHERE gone_at IS NULL AND (${where}) ${tail}),
       dead AS (
         UPDATE ${s} x SET ${unbind(1)} FROM due WHERE x.id = due.id AND x.gone_at IS NULL
         RETURNING due.id, due.user_id, due.expired AND NOT due.revoked AS expired, due.revoked),
       gone AS (DELETE FROM ${v} WHERE session_id IN (SELECT id FROM dead))
       SELECT id, user_id, expired, revoked FROM dead`,
      [now, abs, idle, ...extra],
    );
    return result.rows as DeadRow[];
  }

  /**
   * A locked row that is not live: bury it when expired or revoked, report an expiry, and answer
   * `NOVA_ERR_SESSION_GONE` (returned, so that the tombstone is committed before it is thrown).
   */
  protected async end(tx: Tx, key: string, row: SessionRow): Promise<NovaError> {
    const state = this.stateOf(row, tx.now);
    if (state === 'expired' || state === 'revoked') {
      await this.bury(tx.client, key, tx.now);
      if (state === 'expired') tx.expired(key, row.user_id);
    }
    return errors.sessionGone();
  }

  /** A read found a session that is not live: bury it, rechecked under the row lock. */
  protected async settle(key: string): Promise<void> {
    await this.transaction(async (tx) => {
      const row = await this.lock(tx.client, key, '');
      if (row !== undefined && this.stateOf(row, tx.now) !== 'live') await this.end(tx, key, row);
      return undefined;
    });
  }

  /** The key a session is stored under: the hash of its id, so the raw id never reaches the database. */
  protected keyOf(id: string, write = false): string {
    if (typeof id !== 'string' || (write && id.length === 0)) throw errors.sessionIdInvalid('a session id must be a non-empty string');
    return hashSessionId(id);
  }

  protected unavailable(err: unknown): NovaError {
    return storeUnavailable(`PostgreSQL at ${this.where} failed: ${reasonOf(err)}`, err);
  }

  /** The pool, starting with default options when the app never called start(). */
  protected async ready(): Promise<Pool> {
    if (this.state === 'stopped') throw storeUnavailable('the postgres store was stopped');
    if (this.state === 'new') await this.start({});
    else if (this.state === 'starting') await this.starting;
    if (this.pool === undefined) throw storeUnavailable('the postgres store was stopped');
    return this.pool;
  }
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
