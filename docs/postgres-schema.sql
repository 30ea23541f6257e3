-- The PostgreSQL session store's schema (src/session/stores/postgres-schema.ts), as `postgresStore()`
-- creates it on start with the default table name `nova_sessions` (pass `createTable: false` to
-- manage it yourself; with `table: 'x'` the names become "x", "x_values", "x_users", "x_seen_idx", ...).
-- Times are milliseconds since the epoch, as the app's clock gives them.
--
-- Ids are hashed at rest: `id` and `session_id` hold hashSessionId(id) (SHA-256, base64url), never
-- the session id from the cookie, so a dump or backup of these tables holds no working cookie.
-- Expiry is checked in the queries from created_at / seen_at; an expired, deleted, rotated or
-- revoked session is kept as a tombstone (gone_at set, no values, no user) for one absolute
-- timeout, so a late write cannot bring it back.
--
-- Sessions per user: bindUser sets user_id, a random handle, bound_at and the client details;
-- "nova_sessions_user_idx" lists a user's live sessions, so listing and revoking cost in
-- proportion to that user's sessions. Revoking all of a user's sessions also raises the user's
-- stamp in "nova_sessions_users": every read of a session bound before it treats it as gone.
--
-- The store's sweeper turns expired sessions into tombstones and deletes tombstones and stamps
-- older than one absolute timeout, at most 1000 rows per statement. Running this file again is
-- harmless, and it upgrades the tables of an earlier version in place (their rows were keyed by
-- raw ids: they are never found again, and the sweeper removes them in time).
-- Run this file with: psql "$DATABASE_URL" -f docs/postgres-schema.sql

CREATE TABLE IF NOT EXISTS "nova_sessions" (
  id         text   PRIMARY KEY,       -- hashSessionId(id): the raw id is never stored
  created_at bigint NOT NULL,          -- ms since the epoch; kept by rotation
  seen_at    bigint NOT NULL,          -- last use, rewritten at most every touchIntervalMs
  bytes      integer NOT NULL DEFAULT 0, -- sum of the values' bytes (see entryBytes)
  gone_at    bigint                    -- not null: a tombstone (deleted, rotated, expired or revoked)
);
ALTER TABLE "nova_sessions"
  ADD COLUMN IF NOT EXISTS user_id    text,   -- the user the session is tied to (bindUser)
  ADD COLUMN IF NOT EXISTS handle     text,   -- random, what listUserSessions shows; kept by rotation
  ADD COLUMN IF NOT EXISTS bound_at   bigint, -- when it was tied; before the user's revoked_before = gone
  ADD COLUMN IF NOT EXISTS user_agent text,
  ADD COLUMN IF NOT EXISTS ip         text;
CREATE TABLE IF NOT EXISTS "nova_sessions_values" (
  session_id text    NOT NULL REFERENCES "nova_sessions" (id) ON DELETE CASCADE,
  key        text    NOT NULL,
  value      text    NOT NULL,         -- JSON text, as encodeSessionValue returns it
  bytes      integer NOT NULL,         -- entryBytes(key, value)
  PRIMARY KEY (session_id, key)
);
CREATE TABLE IF NOT EXISTS "nova_sessions_users" (
  user_id        text   PRIMARY KEY,
  revoked_before bigint NOT NULL       -- sessions of this user bound before this time are gone
);
CREATE INDEX IF NOT EXISTS "nova_sessions_seen_idx" ON "nova_sessions" (seen_at) WHERE gone_at IS NULL;
CREATE INDEX IF NOT EXISTS "nova_sessions_created_idx" ON "nova_sessions" (created_at) WHERE gone_at IS NULL;
CREATE INDEX IF NOT EXISTS "nova_sessions_gone_idx" ON "nova_sessions" (gone_at) WHERE gone_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS "nova_sessions_user_idx" ON "nova_sessions" (user_id, created_at) WHERE user_id IS NOT NULL AND gone_at IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS "nova_sessions_handle_idx" ON "nova_sessions" (handle) WHERE handle IS NOT NULL;
CREATE INDEX IF NOT EXISTS "nova_sessions_users_idx" ON "nova_sessions_users" (revoked_before);
