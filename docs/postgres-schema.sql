-- The PostgreSQL session store's schema (src/session/stores/postgres.ts), as `postgresStore()`
-- creates it on start with the default table name `nova_sessions` (pass `createTable: false` to
-- manage it yourself; with `table: 'x'` the names become "x", "x_values", "x_seen_idx", ...).
-- Times are milliseconds since the epoch, as the app's clock gives them. Expiry is checked in the
-- queries from created_at / seen_at; an expired, deleted or rotated session is kept as a
-- tombstone (gone_at set, no values) for one absolute timeout, so a late write cannot bring it
-- back. The store's sweeper turns expired sessions into tombstones and deletes old tombstones,
-- at most 1000 rows per statement. Run this file with: psql "$DATABASE_URL" -f docs/postgres-schema.sql

CREATE TABLE IF NOT EXISTS "nova_sessions" (
  id         text   PRIMARY KEY,
  created_at bigint NOT NULL,          -- ms since the epoch; kept by rotation
  seen_at    bigint NOT NULL,          -- last use, rewritten at most every touchIntervalMs
  bytes      integer NOT NULL DEFAULT 0, -- sum of the values' bytes (see entryBytes)
  gone_at    bigint                    -- not null: a tombstone (deleted, rotated or expired)
);
CREATE TABLE IF NOT EXISTS "nova_sessions_values" (
  session_id text    NOT NULL REFERENCES "nova_sessions" (id) ON DELETE CASCADE,
  key        text    NOT NULL,
  value      text    NOT NULL,         -- JSON text, as encodeSessionValue returns it
  bytes      integer NOT NULL,         -- entryBytes(key, value)
  PRIMARY KEY (session_id, key)
);
CREATE INDEX IF NOT EXISTS "nova_sessions_seen_idx" ON "nova_sessions" (seen_at) WHERE gone_at IS NULL;
CREATE INDEX IF NOT EXISTS "nova_sessions_created_idx" ON "nova_sessions" (created_at) WHERE gone_at IS NULL;
CREATE INDEX IF NOT EXISTS "nova_sessions_gone_idx" ON "nova_sessions" (gone_at) WHERE gone_at IS NOT NULL;
