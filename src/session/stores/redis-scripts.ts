/**
 * The Lua scripts of the Redis session store: one per operation, so every operation is one round
 * trip and atomic. The key layout they keep is described on `redisStore` (redis.ts).
 *
 * Every script gets the same first six arguments: ARGV[1] now (ms, from the store's clock),
 * ARGV[2] idle timeout, ARGV[3] absolute timeout, ARGV[4] touch interval, ARGV[5] the key prefix,
 * ARGV[6] the margin added to user-key TTLs; its own arguments follow from ARGV[7]. Every script
 * answers `{expired, …}`: `expired` lists, as pairs of hashed id and user id ('' for none), the
 * sessions it found expired, for `onExpired`; the rest is the operation's answer.
 *
 * Keys are named by the scripts (from the prefix and the hashes they are given or read) rather
 * than all declared in KEYS: a session's user keys are found from the session hash, and the index
 * leads to other sessions. That is fine on a single Redis or Sentinel. Redis Cluster (issue 14)
 * must split the scripts that touch a session's keys and its user's keys together (bind, revoke,
 * the stamp check on every read, rotation) into per-slot steps; the key layout (one `{…}` hash tag
 * per session, another per user) already puts each side in one slot, so it needs no migration.
 */
import { createHash } from 'node:crypto';

// The helpers every script shares. A session record `s` holds H (hashed id), c (created),
// s (last seen), u (user id), g (user tag), hd (handle), t (bound at); u, g, hd are false when
// the session is not bound.
const HEAD = `
local now, idle, abs, touchEvery, P, margin = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local nowText = ARGV[1]
local expired = {}
local function skey(H) return P .. '{' .. H .. '}' end
local function gkey(H) return P .. '{' .. H .. '}:gone' end
local function ukey(U, part) return P .. 'u:{' .. U .. '}:' .. part end

-- The session's record and the raw HMGET answer (extra fields from m[7] on), or nil when no hash.
local function load(H, ...)
  local m = redis.call('HMGET', skey(H), 'm:c', 'm:s', 'm:u', 'm:g', 'm:h', 'm:t', ...)
  if not m[1] then return nil, m end
  return { H = H, c = tonumber(m[1]), s = tonumber(m[2]), u = m[3], g = m[4], hd = m[5], t = tonumber(m[6]) }, m
end

-- A key of the user index that exists without a TTL would never leave: give it one.
local function bounded(key)
  if redis.call('PTTL', key) == -1 then redis.call('PEXPIRE', key, abs + margin) end
end

local function unindex(s)
  if s.g then
    redis.call('ZREM', ukey(s.g, 's'), s.hd)
    redis.call('HDEL', ukey(s.g, 'h'), s.hd)
  end
end

local function kill(s)
  redis.call('DEL', skey(s.H))
  redis.call('SET', gkey(s.H), '1', 'PX', abs)
  unindex(s)
end

-- True when the session may be used; otherwise ends it (past its deadline, or bound before its
-- user's revocation stamp) and answers false.
local function alive(s)
  if now >= s.c + abs or now >= s.s + idle then
    expired[#expired + 1] = s.H
    expired[#expired + 1] = s.u or ''
    kill(s)
    return false
  end
  if s.g then
    local stamp = redis.call('GET', ukey(s.g, 'r'))
    if stamp and s.t < tonumber(stamp) then
      kill(s)
      return false
    end
  end
  return true
end

-- For an id with no hash: true when it has a tombstone (the id is dead). A tombstone still marked
-- live ('l' and the user id) means Redis's TTL removed the hash: the session expired unseen, so
-- it is reported once and the mark turned into an ordinary tombstone.
local function ended(H)
  local g = gkey(H)
  local v = redis.call('GET', g)
  if not v then return false end
  if string.sub(v, 1, 1) == 'l' then
    expired[#expired + 1] = H
    expired[#expired + 1] = string.sub(v, 2)
    redis.call('SET', g, '1', 'KEEPTTL')
  end
  return true
end

-- Set the hash's TTL to the session's deadline and the tombstone's to absoluteTimeoutMs beyond it,
-- marked live with the user id so that an expiry Redis performs silently can still be reported.
local function arm(s)
  local left = math.min(s.s + idle, s.c + abs) - now
  if left < 1 then left = 1 end
  redis.call('PEXPIRE', skey(s.H), left)
  redis.call('SET', gkey(s.H), 'l' .. (s.u or ''), 'PX', left + abs)
end

local function touch(s)
  if now - s.s < touchEvery then return end
  redis.call('HSET', skey(s.H), 'm:s', nowText)
  s.s = now
  arm(s)
end

-- The live sessions of user U, oldest first, as {record, HMGET answer}; dead entries (expired,
-- logged out, revoked, rebound) are dropped from the index on the way. O(that user's sessions).
local function members(U, ...)
  local Z, HM = ukey(U, 's'), ukey(U, 'h')
  local out = {}
  for _, hd in ipairs(redis.call('ZRANGE', Z, 0, -1)) do
    local H = redis.call('HGET', HM, hd)
    local s, m
    if H then s, m = load(H, ...) end
    if s and s.g == U and s.hd == hd then
      if alive(s) then out[#out + 1] = { s, m } end
    else
      if H and not s then ended(H) end
      redis.call('ZREM', Z, hd)
      redis.call('HDEL', HM, hd)
    end
  end
  return out
end
`;

// ARGV[7] H, ARGV[8] field. Answers {expired, text or nil}.
const GET = `${HEAD}
local s, m = load(ARGV[7], ARGV[8])
if not s then ended(ARGV[7]) return { expired, false } end
if not alive(s) then return { expired, false } end
touch(s)
return { expired, m[7] }
`;

// ARGV[7] H, ARGV[8] field, ARGV[9] text, ARGV[10] limit. Answers {expired, 0} done, {expired, 1}
// gone, {expired, 2, bytes} too large.
const SET = `${HEAD}
local H, field, text, limit = ARGV[7], ARGV[8], ARGV[9], tonumber(ARGV[10])
local added = #field - 2 + #text
local s, m = load(H, 'm:b', field)
if not s then
  if ended(H) then return { expired, 1 } end
  if added > limit then return { expired, 2, added } end
  redis.call('HSET', skey(H), 'm:c', nowText, 'm:s', nowText, 'm:b', added, field, text)
  arm({ H = H, c = now, s = now })
  return { expired, 0 }
end
if not alive(s) then return { expired, 1 } end
local bytes = tonumber(m[7]) + added
if m[8] then bytes = bytes - (#field - 2 + #m[8]) end
if bytes > limit then return { expired, 2, bytes } end
redis.call('HSET', skey(H), field, text, 'm:b', bytes)
touch(s)
return { expired, 0 }
`;

// ARGV[7] H, ARGV[8] field, or '' for the whole session (fields always start with 'k:').
const DELETE = `${HEAD}
local H, field = ARGV[7], ARGV[8]
local s = load(H)
if not s then ended(H) return { expired } end
if not alive(s) then return { expired } end
if field == '' then kill(s) return { expired } end
local old = redis.call('HGET', skey(H), field)
if old then
  redis.call('HDEL', skey(H), field)
  redis.call('HINCRBY', skey(H), 'm:b', -(#field - 2 + #old))
end
touch(s)
return { expired }
`;

// ARGV[7] H, ARGV[8] field. Answers {expired, text or nil}; the field is gone afterwards.
const TAKE = `${HEAD}
local H, field = ARGV[7], ARGV[8]
local s, m = load(H, field)
if not s then ended(H) return { expired, false } end
if not alive(s) then return { expired, false } end
local old = m[7]
if old then
  redis.call('HDEL', skey(H), field)
  redis.call('HINCRBY', skey(H), 'm:b', -(#field - 2 + #old))
end
touch(s)
return { expired, old }
`;

// ARGV[7] old H, ARGV[8] new H. Answers {expired, 0} done or nothing to do, 1 gone, 3 new id in use.
// The binding, handle and bind time travel with the hash; the user index is pointed at the new H.
const ROTATE = `${HEAD}
local H, N = ARGV[7], ARGV[8]
if redis.call('EXISTS', skey(N)) == 1 or redis.call('EXISTS', gkey(N)) == 1 then return { expired, 3 } end
local s = load(H)
if not s then
  if ended(H) then return { expired, 1 } end
  return { expired, 0 }
end
if not alive(s) then return { expired, 1 } end
redis.call('RENAME', skey(H), skey(N))
redis.call('SET', gkey(H), '1', 'PX', abs)
if s.g then
  redis.call('HSET', ukey(s.g, 'h'), s.hd, N)
  bounded(ukey(s.g, 'h'))
end
s.H = N
if now - s.s >= touchEvery then
  redis.call('HSET', skey(N), 'm:s', nowText)
  s.s = now
end
arm(s)
return { expired, 0 }
`;

// ARGV[7] H, ARGV[8] user tag U, ARGV[9] user id, ARGV[10] new handle, ARGV[11] user agent,
// ARGV[12] ip ('' for none), ARGV[13] sessions per user. Answers {expired, 0} done, 1 gone.
const BIND = `${HEAD}
local H, U, uid, hd, ua, ip, cap = ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12], tonumber(ARGV[13])
local s = load(H)
if not s then
  if ended(H) then return { expired, 1 } end
  redis.call('HSET', skey(H), 'm:c', nowText, 'm:s', nowText, 'm:b', 0)
  s = { H = H, c = now, s = now }
elseif not alive(s) then
  return { expired, 1 }
else
  unindex(s)
  redis.call('HDEL', skey(H), 'm:a', 'm:i')
  if now - s.s >= touchEvery then
    redis.call('HSET', skey(H), 'm:s', nowText)
    s.s = now
  end
end
local live = members(U)
for i = 1, #live - cap + 1 do kill(live[i][1]) end
-- Bound no earlier than the user's stamp: a login after a revoke-all must survive it even when
-- this node's clock runs behind the one that revoked.
local bound, boundText = now, nowText
local stampText = redis.call('GET', ukey(U, 'r'))
if stampText and tonumber(stampText) > now then bound, boundText = tonumber(stampText), stampText end
redis.call('HSET', skey(H), 'm:u', uid, 'm:g', U, 'm:h', hd, 'm:t', boundText)
if ua ~= '' then redis.call('HSET', skey(H), 'm:a', ua) end
if ip ~= '' then redis.call('HSET', skey(H), 'm:i', ip) end
local Z, HM = ukey(U, 's'), ukey(U, 'h')
redis.call('ZADD', Z, s.c, hd)
redis.call('HSET', HM, hd, H)
-- Every indexed session was created before this bind, so it ends within absoluteTimeoutMs of now.
redis.call('PEXPIRE', Z, abs + margin)
redis.call('PEXPIRE', HM, abs + margin)
s.u, s.g, s.hd, s.t = uid, U, hd, bound
arm(s)
return { expired, 0 }
`;

// ARGV[7] H. Answers {expired, user id, handle}, or {expired} when unbound, unknown or dead.
const USER_OF = `${HEAD}
local s = load(ARGV[7])
if not s then ended(ARGV[7]) return { expired } end
if not alive(s) or not s.g then return { expired } end
return { expired, s.u, s.hd }
`;

// ARGV[7] U. Answers {expired, {{handle, created, last seen, user agent, ip}, …}}, oldest first.
const LIST = `${HEAD}
local out = {}
for i, e in ipairs(members(ARGV[7], 'm:a', 'm:i')) do
  local m = e[2]
  out[i] = { e[1].hd, m[1], m[2], m[7] or '', m[8] or '' }
end
return { expired, out }
`;

// ARGV[7] U, ARGV[8] handle. Answers {expired, 1} when a live session of U ended, else 0.
const REVOKE = `${HEAD}
for _, e in ipairs(members(ARGV[7])) do
  if e[1].hd == ARGV[8] then
    kill(e[1])
    return { expired, 1 }
  end
end
return { expired, 0 }
`;

// ARGV[7] U, ARGV[8] excepted handle or ''. Answers {expired, how many ended}. The index is walked
// before the stamp rises (the excepted session would fail the check otherwise); the stamp only
// ever rises, and lives absoluteTimeoutMs: no session bound before it can outlive that.
const REVOKE_ALL = `${HEAD}
local U, except = ARGV[7], ARGV[8]
local R = ukey(U, 'r')
local stamp = nowText
local old = redis.call('GET', R)
if old and tonumber(old) > now then stamp = old end
local n = 0
for _, e in ipairs(members(U)) do
  local s = e[1]
  if except ~= '' and s.hd == except then
    redis.call('HSET', skey(s.H), 'm:t', stamp)
  else
    kill(s)
    n = n + 1
  end
end
redis.call('SET', R, stamp, 'PX', abs + margin)
return { expired, n }
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
  rotate: script(ROTATE),
  bind: script(BIND),
  userOf: script(USER_OF),
  list: script(LIST),
  revoke: script(REVOKE),
  revokeAll: script(REVOKE_ALL),
} as const;

export type ScriptName = keyof typeof SCRIPTS;
