/**
 * The Lua scripts of the Redis session store. Every script touches the keys of ONE hash slot only
 * (one session's `P{H}` and `P{H}:gone`, or one user's `Pu:{U}:…`), all declared in KEYS, so the
 * same scripts run on a single Redis and on Redis Cluster. A read is one script (one round trip);
 * operations that span a session and its user (bind, revoke, rotation, listing) are a few
 * single-slot steps run by the store (redis.ts), ordered so that no interleaving loses a write or
 * revives a dead session. The key layout is described on `redisStore` (redis.ts).
 *
 * Every script gets the same first six arguments: ARGV[1] now (ms, from the store's clock),
 * ARGV[2] idle timeout, ARGV[3] absolute timeout, ARGV[4] touch interval, ARGV[5] the key prefix,
 * ARGV[6] the margin added to user-key TTLs; its own arguments follow from ARGV[7]. Every script
 * answers `{expired, …}`: `expired` lists, as pairs of hashed id and user id ('' for none), the
 * sessions it found expired, for `onExpired`; the rest is the operation's answer.
 *
 * Answer codes of the session scripts: 0 done, 1 gone, 2 too large, 3 new id in use, 4 the
 * session is being moved by a rotation (wait and ask again), 5 the session was moved to the
 * hashed id that follows (the old id is a tombstone "moved to N").
 */
import { createHash } from 'node:crypto';

/** A rotation's "moving" mark older than this is taken as abandoned (the rotating process died). */
export const MOVING_MAX_MS = 15_000;

// Session scripts: KEYS[1] the hash P{H}, KEYS[2] the tombstone P{H}:gone, ARGV[7] H.
// A record `s` holds c (created), s (last seen), u (user id), g (user tag), hd (handle),
// t (bound at), mv (hashed id a rotation is copying it to) and mw (when that began).
const HEAD = `
local now, idle, abs, touchEvery, P, margin = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local nowText = ARGV[1]
local expired = {}
local K, G, H = KEYS[1], KEYS[2], ARGV[7]

-- The session's record and the raw HMGET answer (extra fields from m[9] on), or nil when no hash.
local function load(...)
  local m = redis.call('HMGET', K, 'm:c', 'm:s', 'm:u', 'm:g', 'm:h', 'm:t', 'm:m', 'm:w', ...)
  if not m[1] then return nil, m end
  return { c = tonumber(m[1]), s = tonumber(m[2]), u = m[3], g = m[4], hd = m[5], t = tonumber(m[6]), mv = m[7], mw = tonumber(m[8]) }, m
end

local function kill()
  redis.call('DEL', K)
  redis.call('SET', G, '1', 'PX', abs)
end

-- True when the session may be used; otherwise ends it (past its deadline) and answers false.
local function alive(s)
  if now >= s.c + abs or now >= s.s + idle then
    expired[#expired + 1] = H
    expired[#expired + 1] = s.u or ''
    kill()
    return false
  end
  return true
end

-- True while a rotation copies the session out; a mark older than ${MOVING_MAX_MS} ms is dropped.
local function moving(s)
  if not s.mv then return false end
  if now - (s.mw or 0) > ${MOVING_MAX_MS} then
    redis.call('HDEL', K, 'm:m', 'm:w')
    s.mv = false
    return false
  end
  return true
end

-- For an id with no hash: false (never seen), true (dead), or 'm' and N (moved to N by a
-- rotation). A tombstone still marked live ('l' and the user id) means Redis's TTL removed the
-- hash: the session expired unseen, so it is reported once and the mark made a plain tombstone.
local function ended()
  local v = redis.call('GET', G)
  if not v then return false end
  local kind = string.sub(v, 1, 1)
  if kind == 'l' then
    expired[#expired + 1] = H
    expired[#expired + 1] = string.sub(v, 2)
    redis.call('SET', G, '1', 'KEEPTTL')
  elseif kind == 'm' then
    return 'm', string.sub(v, 2)
  end
  return true
end

-- Set the hash's TTL to the session's deadline and the tombstone's to absoluteTimeoutMs beyond it,
-- marked live with the user id so that an expiry Redis performs silently can still be reported.
local function arm(s)
  local left = math.min(s.s + idle, s.c + abs) - now
  if left < 1 then left = 1 end
  redis.call('PEXPIRE', K, left)
  redis.call('SET', G, 'l' .. (s.u or ''), 'PX', left + abs)
end

local function touch(s)
  if now - s.s < touchEvery then return end
  redis.call('HSET', K, 'm:s', nowText)
  s.s = now
  arm(s)
end

-- The answer for a write to an id with no hash: moved (5, N), gone (1), or nil (never seen).
local function noHash()
  local e, N = ended()
  if e == 'm' then return { expired, 5, N } end
  if e then return { expired, 1 } end
  return nil
end

-- The answer for a lookup of an id with no hash: moved (5, N), else 0.
local function movedOrNot()
  local e, N = ended()
  if e == 'm' then return { expired, 5, N } end
  return { expired, 0 }
end
`;

// ARGV[8] field. Answers {expired, text or nil}. Reads are not held up by a rotation.
const GET = `${HEAD}
local s, m = load(ARGV[8])
if not s then ended() return { expired, false } end
if not alive(s) then return { expired, false } end
touch(s)
return { expired, m[9] }
`;

// ARGV[8] field, ARGV[9] text, ARGV[10] limit. Answers {expired, code} (2 with the bytes, 5 with N).
const SET = `${HEAD}
local field, text, limit = ARGV[8], ARGV[9], tonumber(ARGV[10])
local added = #field - 2 + #text
local s, m = load('m:b', field)
if not s then
  local r = noHash()
  if r then return r end
  if added > limit then return { expired, 2, added } end
  redis.call('HSET', K, 'm:c', nowText, 'm:s', nowText, 'm:b', added, field, text)
  arm({ c = now, s = now })
  return { expired, 0 }
end
if not alive(s) then return { expired, 1 } end
if moving(s) then return { expired, 4 } end
local bytes = tonumber(m[9]) + added
if m[10] then bytes = bytes - (#field - 2 + #m[10]) end
if bytes > limit then return { expired, 2, bytes } end
redis.call('HSET', K, field, text, 'm:b', bytes)
touch(s)
return { expired, 0 }
`;

// ARGV[8] field, or '' for the whole session (fields always start with 'k:'). Answers
// {expired, code}; a whole-session kill answers {expired, 0, user tag, handle} ('' when unbound).
const DELETE = `${HEAD}
local field = ARGV[8]
local s = load()
if not s then return noHash() or { expired, 0 } end
if not alive(s) then return { expired, 0 } end
if moving(s) then return { expired, 4 } end
if field == '' then
  kill()
  return { expired, 0, s.g or '', s.hd or '' }
end
local old = redis.call('HGET', K, field)
if old then
  redis.call('HDEL', K, field)
  redis.call('HINCRBY', K, 'm:b', -(#field - 2 + #old))
end
touch(s)
return { expired, 0 }
`;

// ARGV[8] field. Answers {expired, 0, text or nil}; the field is gone afterwards.
const TAKE = `${HEAD}
local field = ARGV[8]
local s, m = load(field)
if not s then return noHash() or { expired, 0, false } end
if not alive(s) then return { expired, 0, false } end
if moving(s) then return { expired, 4 } end
local old = m[9]
if old then
  redis.call('HDEL', K, field)
  redis.call('HINCRBY', K, 'm:b', -(#field - 2 + #old))
end
touch(s)
return { expired, 0, old }
`;

// Rotation step 1, on the old id. ARGV[8] new hashed id N. Marks the session "moving to N" (writes
// wait from now on) and answers {expired, 6, field, value, …}; or 0 (no session: nothing to do),
// 1 gone, 4 already moving.
const ROTATE_OUT = `${HEAD}
local s = load()
if not s then return noHash() or { expired, 0 } end
if not alive(s) then return { expired, 1 } end
if moving(s) then return { expired, 4 } end
redis.call('HSET', K, 'm:m', ARGV[8], 'm:w', nowText)
local out = { expired, 6 }
for _, v in ipairs(redis.call('HGETALL', K)) do out[#out + 1] = v end
return out
`;

// Rotation step 2, on the new id. ARGV[8…] the copied fields and values (without the moving
// mark). Answers {expired, 0}, or 3 when the new id is in use.
const ROTATE_IN = `${HEAD}
if redis.call('EXISTS', K) == 1 or redis.call('EXISTS', G) == 1 then return { expired, 3 } end
local pairs = {}
for i = 8, #ARGV do pairs[#pairs + 1] = ARGV[i] end
redis.call('HSET', K, unpack(pairs))
local s = load()
if now - s.s >= touchEvery then
  redis.call('HSET', K, 'm:s', nowText)
  s.s = now
end
arm(s)
return { expired, 0 }
`;

// Rotation step 3, on the old id. ARGV[8] N. Ends the old id as a tombstone "moved to N", only if
// the mark is still ours. Answers {expired, 0, user tag, handle}, or 1 when the mark was lost.
const ROTATE_SEAL = `${HEAD}
local s = load()
if not s or s.mv ~= ARGV[8] then return { expired, 1 } end
redis.call('DEL', K)
redis.call('SET', G, 'm' .. ARGV[8], 'PX', abs)
return { expired, 0, s.g or '', s.hd or '' }
`;

// Undo a rotation step. ARGV[8] N, ARGV[9] 'out' (drop our moving mark on the old id) or 'in'
// (end the copy made on the new id, which was never handed out). Answers {expired, 0}.
const ROTATE_UNDO = `${HEAD}
if ARGV[9] == 'out' then
  if redis.call('HGET', K, 'm:m') == ARGV[8] then redis.call('HDEL', K, 'm:m', 'm:w') end
else
  kill()
end
return { expired, 0 }
`;

// Bind step 1. ARGV[8] new handle. Creates the session if new, marks the handle pending ('m:p':
// a revoke of it that arrives before step 3 ends the session). Answers {expired, 0, created}.
const BIND_PREP = `${HEAD}
local s = load()
if not s then
  local r = noHash()
  if r then return r end
  redis.call('HSET', K, 'm:c', nowText, 'm:s', nowText, 'm:b', 0)
  s = { c = now, s = now }
  arm(s)
elseif not alive(s) then
  return { expired, 1 }
elseif moving(s) then
  return { expired, 4 }
end
redis.call('HSET', K, 'm:p', ARGV[8])
return { expired, 0, s.c }
`;

// Bind step 3. ARGV[8] user tag U, ARGV[9] user id, ARGV[10] handle, ARGV[11] user agent,
// ARGV[12] ip, ARGV[13] the user's revocation stamp or ''. Answers {expired, 0}, or 1 gone (also
// when the pending handle is no longer ours).
const BIND_FINISH = `${HEAD}
local U, uid, hd, ua, ip, stampText = ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[13]
local s, m = load('m:p')
if not s then return noHash() or { expired, 1 } end
if not alive(s) or m[9] ~= hd then return { expired, 1 } end
if moving(s) then return { expired, 4 } end
-- Bound no earlier than the user's stamp: a login after a revoke-all must survive it even when
-- this node's clock runs behind the one that revoked.
local boundText = nowText
if stampText ~= '' and tonumber(stampText) > now then boundText = stampText end
redis.call('HDEL', K, 'm:p', 'm:a', 'm:i')
redis.call('HSET', K, 'm:u', uid, 'm:g', U, 'm:h', hd, 'm:t', boundText)
if ua ~= '' then redis.call('HSET', K, 'm:a', ua) end
if ip ~= '' then redis.call('HSET', K, 'm:i', ip) end
s.u = uid
if now - s.s >= touchEvery then
  redis.call('HSET', K, 'm:s', nowText)
  s.s = now
end
arm(s)
return { expired, 0 }
`;

// ARGV[8] U, ARGV[9] handle. Is this session user U's session `handle` (bound, or its bind
// pending) and alive? Answers {expired, 1, created, seen, user agent, ip}, {expired, 0}, or 5, N.
const PROBE = `${HEAD}
local U, hd = ARGV[8], ARGV[9]
local s, m = load('m:a', 'm:i', 'm:p')
if not s then return movedOrNot() end
if not ((s.g == U and s.hd == hd) or m[11] == hd) then return { expired, 0 } end
if not alive(s) then return { expired, 0 } end
return { expired, 1, m[1], m[2], m[9] or '', m[10] or '' }
`;

// ARGV[8] U, ARGV[9] handle. Ends the session if it is user U's session `handle`. Answers
// {expired, 1} ended, 0 not that session (or dead), 4 moving, 5 and N moved.
const KILL_HANDLE = `${HEAD}
local U, hd = ARGV[8], ARGV[9]
local s, m = load('m:p')
if not s then return movedOrNot() end
if not ((s.g == U and s.hd == hd) or m[9] == hd) then return { expired, 0 } end
if not alive(s) then return { expired, 0 } end
if moving(s) then return { expired, 4 } end
kill()
return { expired, 1 }
`;

// Answers {expired, user id, handle}, or {expired} when unbound, unknown or dead.
const USER_OF = `${HEAD}
local s = load()
if not s then ended() return { expired } end
if not alive(s) or not s.g then return { expired } end
return { expired, s.u, s.hd }
`;

// User scripts: KEYS[1] Pu:{U}:s (sorted set handle → created), KEYS[2] Pu:{U}:h (hash handle →
// H), KEYS[3] Pu:{U}:r (the revocation stamp).
const USER_HEAD = `
local now, idle, abs, touchEvery, P, margin = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local nowText = ARGV[1]
local Z, HM, R = KEYS[1], KEYS[2], KEYS[3]

-- The index, oldest first: handle, H, handle, H, …
local function entries()
  local out = {}
  for _, hd in ipairs(redis.call('ZRANGE', Z, 0, -1)) do
    out[#out + 1] = hd
    out[#out + 1] = redis.call('HGET', HM, hd) or ''
  end
  return out
end
`;

// Answers {{}, entries}.
const ENTRIES = `${USER_HEAD}
return { {}, entries() }
`;

// Bind step 2. ARGV[7] handle, ARGV[8] H, ARGV[9] created. Indexes the session and answers
// {{}, stamp or '', entries}. Every indexed session was created before this bind, so it ends
// within absoluteTimeoutMs of now: the index lives that long past the latest bind.
const BIND_USER = `${USER_HEAD}
redis.call('ZADD', Z, ARGV[9], ARGV[7])
redis.call('HSET', HM, ARGV[7], ARGV[8])
redis.call('PEXPIRE', Z, abs + margin)
redis.call('PEXPIRE', HM, abs + margin)
return { {}, redis.call('GET', R) or '', entries() }
`;

// ARGV[7…] handle, H, handle, H, …: drops each handle that still points at that H; with ARGV[7]
// = '=' the pairs that follow repoint a handle from its old H to a new one (handle, old, new, …).
const PRUNE = `${USER_HEAD}
if ARGV[7] == '=' then
  for i = 8, #ARGV - 2, 3 do
    if redis.call('HGET', HM, ARGV[i]) == ARGV[i + 1] then redis.call('HSET', HM, ARGV[i], ARGV[i + 2]) end
  end
  return { {} }
end
for i = 7, #ARGV - 1, 2 do
  if redis.call('HGET', HM, ARGV[i]) == ARGV[i + 1] then
    redis.call('HDEL', HM, ARGV[i])
    redis.call('ZREM', Z, ARGV[i])
  end
end
return { {} }
`;

// Revoke-all step 1: raises the stamp (it only ever rises, and lives absoluteTimeoutMs) and
// answers {{}, entries}. The store then ends each listed session on its own slot.
const REVOKE_ALL = `${USER_HEAD}
local stamp = nowText
local old = redis.call('GET', R)
if old and tonumber(old) > now then stamp = old end
redis.call('SET', R, stamp, 'PX', abs + margin)
return { {}, entries() }
`;

/** A script's source and the SHA1 that EVALSHA names it by. */
export interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Every script of the store, by operation. */
export const SCRIPTS = {
  get: script(GET),
  set: script(SET),
  del: script(DELETE),
  take: script(TAKE),
  rotateOut: script(ROTATE_OUT),
  rotateIn: script(ROTATE_IN),
  rotateSeal: script(ROTATE_SEAL),
  rotateUndo: script(ROTATE_UNDO),
  bindPrep: script(BIND_PREP),
  bindFinish: script(BIND_FINISH),
  probe: script(PROBE),
  killHandle: script(KILL_HANDLE),
  userOf: script(USER_OF),
  entries: script(ENTRIES),
  bindUser: script(BIND_USER),
  prune: script(PRUNE),
  revokeAll: script(REVOKE_ALL),
} as const;

export type ScriptName = keyof typeof SCRIPTS;
