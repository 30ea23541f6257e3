/**
 * The PostgreSQL store's per-user index (`SessionUserIndex`). The index is the partial index
 * `<table>_user_idx` on the sessions table, (user_id, created_at) over live rows, so listing or
 * revoking costs in proportion to the user's sessions; a tombstone clears its binding and so
 * leaves the index by itself. Revocation stamps live in `<table>_users`, one row per revoked user,
 * and every read of a bound session checks its user's stamp.
 */
import { errors } from '../../errors.js';
import { checkUserId, MAX_USER_AGENT_LENGTH, newHandle, type SessionMeta, type SessionOwner, type UserSessionInfo } from '../users.js';
import { EXPIRED, PostgresCore, type DeadRow, type Tx } from './postgres-core.js';

export class PostgresUsers extends PostgresCore {
  async bindUser(id: string, userId: string, meta: SessionMeta): Promise<string> {
    const key = this.keyOf(id, true);
    checkUserId(userId);
    const userAgent = typeof meta?.userAgent === 'string' ? meta.userAgent.slice(0, MAX_USER_AGENT_LENGTH) : null;
    const ip = typeof meta?.ip === 'string' ? meta.ip : null;
    return this.transaction(async (tx) => {
      const stamp = await this.lockUser(tx, userId);
      const { client, now } = tx;
      // Binding is a write: it creates the session as setValue would.
      await client.query(`INSERT INTO ${this.t.s} (id, created_at, seen_at, bytes) VALUES ($1, $2, $2, 0) ON CONFLICT (id) DO NOTHING`, [key, now]);
      const row = await this.lock(client, key, '');
      if (row === undefined) throw errors.sessionGone();
      if (this.stateOf(row, now) !== 'live') return this.end(tx, key, row);
      const handle = newHandle();
      // Under the user's lock this bind comes after any revoke that holds a later stamp (a clock
      // behind the one that wrote it): the login happened after the revoke, so it is not caught.
      await client.query(
        `UPDATE ${this.t.s} SET user_id = $2, handle = $3, bound_at = $4, user_agent = $5, ip = $6,
           seen_at = CASE WHEN seen_at <= $7::bigint - $8::bigint THEN $7 ELSE seen_at END
         WHERE id = $1`,
        [key, userId, handle, Math.max(now, stamp), userAgent, ip, now, this.options.touchIntervalMs],
      );
      // The cap counts live sessions: clear out the user's dead ones, then end the oldest beyond it.
      this.report(
        tx,
        await this.buryMany(run(tx), now, `user_id = $4 AND id <> $5 AND (${EXPIRED} OR bound_at < $6::bigint)`, [userId, key, stamp], 'FOR UPDATE'),
      );
      await this.buryMany(
        run(tx),
        now,
        `id IN (SELECT id FROM ${this.t.s} WHERE user_id = $4 AND gone_at IS NULL AND id <> $5 ORDER BY created_at DESC, id DESC OFFSET $6)`,
        [userId, key, this.options.maxSessionsPerUser - 1],
        'FOR UPDATE',
      );
      return handle;
    });
  }

  async userOf(id: string): Promise<SessionOwner | undefined> {
    const key = this.keyOf(id);
    const result = await this.query(
      `SELECT user_id, handle, created_at, seen_at, gone_at, bound_at,
         (SELECT revoked_before FROM ${this.t.u} WHERE user_id = x.user_id) AS revoked_before
       FROM ${this.t.s} x WHERE id = $1`,
      [key],
    );
    const row = result.rows[0] as
      | {
          user_id: string | null;
          handle: string | null;
          created_at: string;
          seen_at: string;
          gone_at: string | null;
          bound_at: string | null;
          revoked_before: string | null;
        }
      | undefined;
    if (row === undefined) return undefined;
    const state = this.stateOf(row, this.now());
    if (state === 'expired' || state === 'revoked') await this.settle(key);
    if (state !== 'live' || row.user_id === null || row.handle === null) return undefined;
    return { userId: row.user_id, handle: row.handle };
  }

  async listUserSessions(userId: string): Promise<UserSessionInfo[]> {
    checkUserId(userId);
    const now = this.now();
    // Dead sessions still on the index are buried on the way; one locked by a request in flight
    // is skipped here (never waited for) and left out of the list by the same conditions below.
    const stamp = `coalesce((SELECT revoked_before FROM ${this.t.u} WHERE user_id = $4), 0)`;
    const dead = await this.buryMany(
      (sql, params) => this.query(sql, params),
      now,
      `user_id = $4 AND (${EXPIRED} OR bound_at < ${stamp})`,
      [userId],
      'FOR UPDATE SKIP LOCKED',
    );
    for (const d of dead) if (d.expired) this.reportExpired(d.id, d.user_id);
    const { absoluteTimeoutMs: abs, idleTimeoutMs: idle } = this.options;
    const result = await this.query(listSql(this.t.s, this.t.u), [now, abs, idle, userId]);
    return (result.rows as Array<{ handle: string; created_at: string; seen_at: string; user_agent: string | null; ip: string | null }>).map((r) => ({
      handle: r.handle,
      createdAt: Number(r.created_at),
      lastSeenAt: Number(r.seen_at),
      userAgent: r.user_agent ?? undefined,
      ip: r.ip ?? undefined,
    }));
  }

  async revokeUserSession(userId: string, handle: string): Promise<boolean> {
    checkUserId(userId);
    if (typeof handle !== 'string') return false;
    const dead = await this.buryMany((sql, params) => this.query(sql, params), this.now(), 'user_id = $4 AND handle = $5', [userId, handle], 'FOR UPDATE');
    for (const d of dead) if (d.expired) this.reportExpired(d.id, d.user_id);
    return dead.some((d) => !d.expired && !d.revoked);
  }

  async revokeUserSessions(userId: string, exceptHandle?: string): Promise<number> {
    checkUserId(userId);
    const except = typeof exceptHandle === 'string' ? exceptHandle : null;
    return this.transaction(async (tx) => {
      const before = await this.lockUser(tx, userId);
      // Ended before the stamp is raised, so that `revoked` still means "already dead" and the
      // count is of the sessions this call ended.
      const dead = await this.buryMany(run(tx), tx.now, 'user_id = $4 AND handle IS DISTINCT FROM $5::text', [userId, except], 'FOR UPDATE');
      this.report(tx, dead);
      const raised = await tx.client.query(
        `INSERT INTO ${this.t.u} (user_id, revoked_before) VALUES ($1, $2) ON CONFLICT (user_id)
         DO UPDATE SET revoked_before = GREATEST(${this.t.u}.revoked_before, EXCLUDED.revoked_before)
         RETURNING revoked_before`,
        [userId, tx.now],
      );
      const stamp = Number((raised.rows[0] as { revoked_before: string }).revoked_before);
      if (except !== null) {
        // The session kept counts as bound at the stamp, unless an earlier stamp had ended it already.
        await tx.client.query(`UPDATE ${this.t.s} SET bound_at = $3 WHERE user_id = $1 AND handle = $2 AND gone_at IS NULL AND bound_at >= $4::bigint`, [
          userId,
          except,
          stamp,
          before,
        ]);
      }
      return dead.filter((d) => !d.expired && !d.revoked).length;
    });
  }

  /**
   * Serialise binds and revokes of one user (so concurrent binds cannot pass the cap, and a bind
   * is wholly before or after a revoke), and read the user's stamp (0 without one). A
   * transaction-scoped advisory lock rather than a row lock, so users never revoked get no row.
   */
  private async lockUser(tx: Tx, userId: string): Promise<number> {
    await tx.client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`nova-session-user:${this.table}:${userId}`]);
    // A statement of its own: its snapshot is taken after the lock, so it sees a revoke that just committed.
    const result = await tx.client.query(`SELECT revoked_before FROM ${this.t.u} WHERE user_id = $1`, [userId]);
    return Number((result.rows[0] as { revoked_before: string } | undefined)?.revoked_before ?? 0);
  }

  private report(tx: Tx, dead: DeadRow[]): void {
    for (const d of dead) if (d.expired) tx.expired(d.id, d.user_id);
  }
}

/**
 * The listing statement: a user's live sessions, oldest first, read through `<table>_user_idx`
 * (`$1`–`$3` now and the timeouts, `$4` the user). Exported for the test that EXPLAINs it.
 *
 * @example
 * ```ts
 * await pool.query(listSql('"nova_sessions"', '"nova_sessions_users"'), [now, abs, idle, userId]);
 * ```
 */
export function listSql(s: string, u: string): string {
  return `SELECT handle, created_at, seen_at, user_agent, ip FROM ${s}
    WHERE user_id = $4 AND gone_at IS NULL AND NOT ${EXPIRED}
      AND bound_at >= coalesce((SELECT revoked_before FROM ${u} WHERE user_id = $4), 0)
    ORDER BY created_at, id`;
}

const run = (tx: Tx) => (sql: string, params: unknown[]) => tx.client.query(sql, params);
