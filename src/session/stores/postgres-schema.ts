/**
 * The PostgreSQL store's tables: their DDL (`docs/postgres-schema.sql` holds it verbatim) and the
 * table names the store derives from its one configured name.
 */
import { errors } from '../../errors.js';

/**
 * A plain lower-case identifier of at most 50 characters, so that every derived name (the longest
 * is `<table>_created_idx`) stays within PostgreSQL's 63-byte limit instead of being cut short.
 */
export const TABLE_NAME = /^[a-z_][a-z0-9_]{0,49}$/;

/** The quoted names of the store's three tables. */
export interface PostgresTables {
  /** Sessions: one row per session, keyed by the hashed id. */
  s: string;
  /** Values: one row per key of a session. */
  v: string;
  /** Users: one row per user whose sessions were revoked, holding the revocation stamp. */
  u: string;
}

/**
 * The quoted table names for `table`, or `NOVA_ERR_CONFIG` when it is not a plain identifier.
 *
 * @example
 * ```ts
 * postgresTables('nova_sessions').u; // '"nova_sessions_users"'
 * ```
 */
export function postgresTables(table: string): PostgresTables {
  if (typeof table !== 'string' || !TABLE_NAME.test(table)) {
    throw errors.config('postgresStore.table', 'must be a plain lower-case identifier matching /^[a-z_][a-z0-9_]{0,49}$/');
  }
  return { s: `"${table}"`, v: `"${table}_values"`, u: `"${table}_users"` };
}

/**
 * The DDL for a table name. Safe to run again: every statement is `IF NOT EXISTS`, and the
 * `ADD COLUMN` lines upgrade a sessions table made by an earlier version in place (its rows were
 * keyed by raw ids, so they are never found again and the sweeper removes them in time).
 *
 * @example
 * ```ts
 * await client.query(postgresSchema('nova_sessions'));
 * ```
 */
export function postgresSchema(table = 'nova_sessions'): string {
  // The store skips this script when "<table>_users_idx" exists: keep it the last object created.
  const { s, v, u } = postgresTables(table);
  return `CREATE TABLE IF NOT EXISTS ${s} (
  id         text   PRIMARY KEY,       -- hashSessionId(id): the raw id is never stored
  created_at bigint NOT NULL,          -- ms since the epoch; kept by rotation
  seen_at    bigint NOT NULL,          -- last use, rewritten at most every touchIntervalMs
  bytes      integer NOT NULL DEFAULT 0, -- sum of the values' bytes (see entryBytes)
  gone_at    bigint                    -- not null: a tombstone (deleted, rotated, expired or revoked)
);
ALTER TABLE ${s}
  ADD COLUMN IF NOT EXISTS user_id    text,   -- the user the session is tied to (bindUser)
  ADD COLUMN IF NOT EXISTS handle     text,   -- random, what listUserSessions shows; kept by rotation
  ADD COLUMN IF NOT EXISTS bound_at   bigint, -- when it was tied; before the user's revoked_before = gone
  ADD COLUMN IF NOT EXISTS user_agent text,
  ADD COLUMN IF NOT EXISTS ip         text;
CREATE TABLE IF NOT EXISTS ${v} (
  session_id text    NOT NULL REFERENCES ${s} (id) ON DELETE CASCADE,
  key        text    NOT NULL,
  value      text    NOT NULL,         -- JSON text, as encodeSessionValue returns it
  bytes      integer NOT NULL,         -- entryBytes(key, value)
  PRIMARY KEY (session_id, key)
);
CREATE TABLE IF NOT EXISTS ${u} (
  user_id        text   PRIMARY KEY,
  revoked_before bigint NOT NULL       -- sessions of this user bound before this time are gone
);
CREATE INDEX IF NOT EXISTS "${table}_seen_idx" ON ${s} (seen_at) WHERE gone_at IS NULL;
CREATE INDEX IF NOT EXISTS "${table}_created_idx" ON ${s} (created_at) WHERE gone_at IS NULL;
CREATE INDEX IF NOT EXISTS "${table}_gone_idx" ON ${s} (gone_at) WHERE gone_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS "${table}_user_idx" ON ${s} (user_id, created_at) WHERE user_id IS NOT NULL AND gone_at IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS "${table}_handle_idx" ON ${s} (handle) WHERE handle IS NOT NULL;
CREATE INDEX IF NOT EXISTS "${table}_users_idx" ON ${u} (revoked_before);
`;
}
