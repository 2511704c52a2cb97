/**
 * The Lua scripts of the Redis store. Each runs atomically on the server, so the fencing check,
 * the append and the state change are one step: a stale producer can never interleave with the
 * party that ended its stream.
 *
 * Keys of a stream (one hash tag, so a script's keys share a cluster slot):
 * `<prefix>{<id>}:log` (Redis stream; entry `<n>-0` holds event n in field `e`), `:state` (hash:
 * `state`, `lastId`, `token`, `kind`, `meta`, `createdAt`, `owner`, `stop`, `detachedAt`),
 * `:lease` (the holder's token, with a PX time to live) and `:followers` (sorted set: instance id →
 * epoch ms when its attachment expires).
 *
 * @module
 */

/**
 * Error replies with which a reachable Redis says it cannot serve right now: still loading its data
 * after a restart (`LOADING`), a script running too long (`BUSY`), a replica cut off from its
 * primary (`MASTERDOWN`), a failover under way (`TRYAGAIN`, `CLUSTERDOWN`, `READONLY`). The store
 * treats them like a broken connection: code `unavailable`, retried by appends.
 */
const TRANSIENT_REPLIES = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY)\b/;

/**
 * Whether an error reply means "Redis cannot serve right now, try again" (see TRANSIENT_REPLIES).
 * @param message - the reply's message (`LOADING Redis is loading the dataset in memory`)
 */
export function isTransientReply(message: string): boolean {
  return TRANSIENT_REPLIES.test(message);
}

/** A Lua string literal of `text` (a long bracket no JSON text can close). */
function luaString(text: string): string {
  let level = '';
  while (text.includes(`]${level}]`)) level += '=';
  return `[${level}[${text}]${level}]`;
}

/** Error replies of the scripts, mapped to store error codes by the client. */
export const SCRIPT_ERRORS = {
  not_found: 'SLUICE_NOT_FOUND',
  fenced: 'SLUICE_FENCED',
  ended: 'SLUICE_ENDED',
} as const;

/**
 * KEYS: state, lease, request. ARGV: kind, meta JSON, createdAt, owner, has owner (`1`/`0`), ttlMs,
 * leaseMs, request JSON (empty: none), maxTakeovers.
 * Returns 1, or 0 when the id is taken. A request makes the run one that can be taken over.
 */
export const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'running', 'lastId', 0, 'token', 1, 'kind', ARGV[1], 'meta', ARGV[2], 'createdAt', ARGV[3])
if ARGV[5] == '1' then redis.call('HSET', KEYS[1], 'owner', ARGV[4]) end
if ARGV[8] ~= nil and ARGV[8] ~= '' then
  redis.call('HSET', KEYS[1], 'resumable', 1, 'takeovers', 0, 'maxTakeovers', ARGV[9])
  redis.call('SET', KEYS[3], ARGV[8], 'PX', ARGV[6])
end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('SET', KEYS[2], 1, 'PX', ARGV[7])
return 1
`;

/** The `error` event's code when the store lost events a writer had appended (see {@link APPEND}). */
export const STORE_LOST_EVENTS = 'store_lost_events';

/**
 * The terminal event the APPEND script writes when the log is behind its writer: events the writer
 * had appended (and followers may have seen) are gone, so the stream cannot go on without giving
 * other events their ids.
 */
export function storeLostEvent(): { type: 'error'; code: string; message: string; retryable: boolean } {
  return {
    type: 'error',
    code: STORE_LOST_EVENTS,
    message:
      'The stream stopped: the store lost events it had already accepted (a Redis failover to a replica that had not received them, or a restart that lost its last writes).',
    retryable: true,
  };
}

/**
 * The prefix of an APPEND result that says the log was behind its writer (`SLUICE_LOST <lastId>`):
 * the script ended the stream with {@link storeLostEvent}.
 */
export const LOST_PREFIX = 'SLUICE_LOST';

/**
 * Appends for one writer or for many (one call per tick for every stream a Redis instance writes,
 * see RedisWriters#flushAppends in redis-writer.ts). KEYS: log, state, lease of each append, in
 * order. ARGV: maxLen, ttlMs, then token, event JSON, terminal (`1`/`0`), expected id of each append.
 *
 * Returns one result per append: its id, or a string — {@link SCRIPT_ERRORS} `not_found`, `fenced`,
 * `ended`, or `SLUICE_LOST <lastId>`. The expected id is the writer's n-th append's n (it knows its
 * last id), and the log's last id is compared with it:
 * - at the expected id or past it: a retry of an append that landed (its reply was lost; only the
 *   token's holder appends), the expected id is returned and nothing appended;
 * - one short of it: the event is appended with that id; a terminal event sets the state `done`,
 *   drops the lease and starts the keys' time to live (a running stream's lease and time to live are
 *   renewed by the writer's heartbeat, not by every append);
 * - further behind: Redis lost events it had acknowledged (a failover to a replica that had not
 *   received them, an append-only file that lost its last second). Appending would give new events
 *   ids that followers have seen already, so the stream is ended instead: {@link storeLostEvent} is
 *   written with the *expected* id (a follower that saw the lost events sees it next; one that had
 *   not sees the hole and then it, see RedisFollower), the state set `done`, the token bumped.
 */
export const APPEND = `
local maxLen = ARGV[1]
local ttl = ARGV[2]
local out = {}
for i = 0, #KEYS / 3 - 1 do
  local log = KEYS[i * 3 + 1]
  local state = KEYS[i * 3 + 2]
  local token = ARGV[i * 4 + 3]
  local expected = tonumber(ARGV[i * 4 + 6])
  local s = redis.call('HMGET', state, 'token', 'state', 'lastId')
  local last = tonumber(s[3])
  if not s[1] then
    out[i + 1] = '${SCRIPT_ERRORS.not_found}'
  elseif s[1] ~= token then
    out[i + 1] = '${SCRIPT_ERRORS.fenced}'
  elseif last >= expected then
    out[i + 1] = expected
  elseif s[2] ~= 'running' then
    out[i + 1] = '${SCRIPT_ERRORS.ended}'
  else
    local lost = last < expected - 1
    redis.call('XADD', log, 'MAXLEN', '~', maxLen, expected .. '-0', 'e', lost and ${luaString(JSON.stringify(storeLostEvent()))} or ARGV[i * 4 + 4])
    if lost then
      redis.call('HSET', state, 'lastId', expected, 'state', 'done', 'token', tonumber(token) + 1)
    elseif ARGV[i * 4 + 5] == '1' then
      redis.call('HSET', state, 'lastId', expected, 'state', 'done')
    else
      redis.call('HSET', state, 'lastId', expected)
    end
    if lost or ARGV[i * 4 + 5] == '1' then
      redis.call('DEL', KEYS[i * 3 + 3])
      redis.call('PEXPIRE', log, ttl)
      redis.call('PEXPIRE', state, ttl)
    elseif expected == 1 then
      redis.call('PEXPIRE', log, ttl)
    end
    out[i + 1] = lost and ('${LOST_PREFIX} ' .. last) or expected
  end
end
return out
`;

/**
 * KEYS: state, lease, log, followers, request. ARGV: token, leaseMs, ttlMs.
 * Renews the lease (and the keys' time to live) while `token` holds a running stream; returns 1,
 * or 0 when the writer lost the stream (fenced, ended or expired).
 */
export const HEARTBEAT = `
local s = redis.call('HMGET', KEYS[1], 'token', 'state')
if s[1] ~= ARGV[1] or s[2] ~= 'running' then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
redis.call('PEXPIRE', KEYS[4], ARGV[3])
if KEYS[5] then redis.call('PEXPIRE', KEYS[5], ARGV[3]) end
return 1
`;

/**
 * KEYS: log, state, lease, request. ARGV: producer_lost event JSON, maxLen, ttlMs, mode (`claim` when
 * this instance takes runs over, else `observe`), now (epoch ms), leaseMs.
 * When the stream runs without a lease: a run with a stored request and takeovers left is claimed by
 * a `claim` caller (token + 1 fences the old writer, the lease is set for the new token, the count
 * goes up) and returns `{lastId, 2, token, takeovers, request, maxTakeovers}`; an `observe` caller leaves such a run
 * one lease time for an instance that takes runs over. Otherwise the stream is ended: token + 1 and
 * the terminal event; returns `{id, 1, 0, 0, '', exhausted}` (exhausted 1 when the run had used up its
 * takeovers). A leased stream returns `{lastId, 0}`, a done one `{lastId, 1}`, an unknown one -1.
 */
export const TAKEOVER = `
local s = redis.call('HMGET', KEYS[2], 'state', 'lastId', 'token', 'resumable', 'takeovers', 'maxTakeovers', 'orphanedAt')
if not s[1] then return -1 end
if s[1] ~= 'running' then return {tonumber(s[2]), 1} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {tonumber(s[2]), 0} end
local exhausted = 0
if s[4] == '1' then
  local takeovers = tonumber(s[5] or '0')
  if takeovers < tonumber(s[6] or '0') then
    if ARGV[4] == 'claim' then
      local token = tonumber(s[3]) + 1
      redis.call('HSET', KEYS[2], 'token', token, 'takeovers', takeovers + 1)
      redis.call('HDEL', KEYS[2], 'orphanedAt')
      redis.call('SET', KEYS[3], token, 'PX', ARGV[6])
      return {tonumber(s[2]), 2, token, takeovers + 1, redis.call('GET', KEYS[4]) or '', tonumber(s[6])}
    end
    local now = tonumber(ARGV[5])
    if not s[7] then
      redis.call('HSET', KEYS[2], 'orphanedAt', ARGV[5])
      return {tonumber(s[2]), 0}
    end
    if now - tonumber(s[7]) < tonumber(ARGV[6]) then return {tonumber(s[2]), 0} end
  else
    exhausted = 1
  end
end
local id = tonumber(s[2]) + 1
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], id .. '-0', 'e', ARGV[1])
redis.call('HSET', KEYS[2], 'lastId', id, 'state', 'done', 'token', tonumber(s[3]) + 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {id, 1, 0, 0, '', exhausted}
`;

/**
 * KEYS: state, lease. ARGV: token.
 * The holder of `token` gives its lease up without ending the stream (a draining instance), so an
 * instance that takes runs over claims it at once. Returns 1, or 0 when `token` does not hold it.
 */
export const HAND_OVER = `
local s = redis.call('HMGET', KEYS[1], 'token', 'state')
if s[1] ~= ARGV[1] or s[2] ~= 'running' then return 0 end
redis.call('DEL', KEYS[2])
return 1
`;

/**
 * KEYS: state. ARGV: reason, channel.
 * Records the stop request (for a producer that subscribes late) and publishes it; returns 1, or 0
 * when the stream is unknown or done.
 */
export const REQUEST_STOP = `
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
redis.call('HSETNX', KEYS[1], 'stop', ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[1])
return 1
`;

/**
 * KEYS: followers, state. ARGV: instance id, now.
 * The last follower of an instance left: removes the instance and, when no other attachment is
 * live, records the time.
 */
export const DETACH = `
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[2], '+inf') == 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[2], 'detachedAt', ARGV[2])
end
return 1
`;

/**
 * KEYS: state, followers. ARGV: now.
 * Returns -2 for an unknown stream, -1 while an attachment is live, else the epoch ms since when
 * none is: the last detach, the expiry of a dead instance's attachment, or the creation time.
 */
export const DETACHED_SINCE = `
local created = redis.call('HGET', KEYS[1], 'createdAt')
if not created then return -2 end
if redis.call('ZCOUNT', KEYS[2], '(' .. ARGV[1], '+inf') > 0 then return -1 end
local since = tonumber(redis.call('HGET', KEYS[1], 'detachedAt') or created)
local last = redis.call('ZRANGE', KEYS[2], '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, 1, 'WITHSCORES')
if last[2] and tonumber(last[2]) > since then
  since = tonumber(last[2])
  redis.call('HSET', KEYS[1], 'detachedAt', last[2])
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
return since
`;

/**
 * KEYS: topic, topic byte counter. ARGV: history length, entry JSON, ttlMs, the entry's UTF-8
 * size, the most bytes a topic keeps.
 * Appends to the topic's history, drops its oldest entries while it holds more than the history
 * length or the byte cap, and returns the entry id.
 */
export const PUBLISH = `
local id = redis.call('XADD', KEYS[1], '*', 'v', ARGV[2], 'n', ARGV[4])
local bytes = redis.call('INCRBY', KEYS[2], ARGV[4])
local history = tonumber(ARGV[1])
local most = tonumber(ARGV[5])
local length = redis.call('XLEN', KEYS[1])
while length > history or bytes > most do
  local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
  if not oldest then break end
  redis.call('XDEL', KEYS[1], oldest[1])
  local fields = oldest[2]
  local size = 0
  for i = 1, #fields, 2 do
    if fields[i] == 'n' then size = tonumber(fields[i + 1]) end
  end
  bytes = redis.call('DECRBY', KEYS[2], size)
  length = length - 1
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return id
`;

/**
 * KEYS: approval. ARGV: answer JSON, channel.
 * Records the first answer of a pending approval (`''` while pending) and publishes it; returns
 * 1 when recorded, 2 when it was answered already, 0 when there is no such approval.
 */
export const ANSWER_APPROVAL = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if current ~= '' then return 2 end
redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
redis.call('PUBLISH', ARGV[2], ARGV[1])
return 1
`;

/**
 * KEYS: lease set. ARGV: holder, limit, now, ttlMs.
 * Drops lapsed leases; adds (or renews) `holder` unless `limit` live holders are in the set.
 * Returns 1 when `holder` holds a lease now, else 0.
 */
export const LEASE_ACQUIRE = `
local now = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`;

/**
 * KEYS: lease set. ARGV: holder, expiry (epoch ms), ttlMs.
 * Renews a lease that is still held (XX: a released one stays released).
 */
export const LEASE_RENEW = `
redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`;
