/// The Lua scripts of the Redis channel engine. Each runs atomically in Redis, which is what
/// makes its guarantees hold across nodes: a message's sequence number, its place in the
/// client's Stream and its Pub/Sub publication happen in one step, so Pub/Sub order is
/// sequence order; an open reads the session and takes ownership in one step; a reap removes
/// each expired client from presence exactly once, whichever node runs it.
///
/// Keys per client ID `c` (the braces keep a client's keys in one Redis Cluster slot):
/// `courier:{c}:meta` (hash: `epoch`, the session ID; `top`, the last sequence number;
/// `delivered`, the highest handed to a connection as last recorded), `courier:{c}:stream`
/// (the held messages, entry ID `<seq>-1`, fields `d` text and `t` send time), `courier:{c}:owner`
/// (`<node> <connection>` of the newest connection), `courier:{c}:idem:<key>` (a send's
/// idempotency key, holding its sequence number). Shared: `courier:presence` (sorted set,
/// client ID scored by the time its presence lapses), `courier:topic:<name>` (set of client IDs).
/// Pub/Sub: `courier:{c}` carries `<epoch>:<seq>:<time>:<text>`; `courier:node:<node>` carries
/// `kick <client ID> <connection>` to the node whose connection was replaced.
enum ChannelScripts {
    /// KEYS: meta, stream. ARGV: text, max held count, key TTL seconds, Pub/Sub channel, a new
    /// epoch (used if the session has none), now (seconds), idempotency key or "", its TTL.
    /// Returns {epoch, seq}.
    static let send = RedisScript("""
        local idem = ARGV[7]
        if idem ~= '' then
          local seen = redis.call('GET', idem)
          if seen then return {redis.call('HGET', KEYS[1], 'epoch') or '', tonumber(seen)} end
        end
        local epoch = redis.call('HGET', KEYS[1], 'epoch')
        if not epoch then
          epoch = ARGV[5]
          redis.call('HSET', KEYS[1], 'epoch', epoch, 'top', 0, 'delivered', 0)
        end
        local seq = redis.call('HINCRBY', KEYS[1], 'top', 1)
        redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], seq .. '-1', 'd', ARGV[1], 't', ARGV[6])
        redis.call('EXPIRE', KEYS[1], ARGV[3])
        redis.call('EXPIRE', KEYS[2], ARGV[3])
        if idem ~= '' then redis.call('SET', idem, seq, 'EX', ARGV[8]) end
        redis.call('PUBLISH', ARGV[4], epoch .. ':' .. seq .. ':' .. ARGV[6] .. ':' .. ARGV[1])
        return {epoch, seq}
        """)

    /// A topic publish: the send above for every member of the topic's set. KEYS: the topic set.
    /// ARGV: text, max held count, key TTL, new epoch, now. Returns the number of members.
    static let publish = RedisScript("""
        local members = redis.call('SMEMBERS', KEYS[1])
        for _, c in ipairs(members) do
          local meta, stream = 'courier:{' .. c .. '}:meta', 'courier:{' .. c .. '}:stream'
          local epoch = redis.call('HGET', meta, 'epoch')
          if not epoch then
            epoch = ARGV[4]
            redis.call('HSET', meta, 'epoch', epoch, 'top', 0, 'delivered', 0)
          end
          local seq = redis.call('HINCRBY', meta, 'top', 1)
          redis.call('XADD', stream, 'MAXLEN', ARGV[2], seq .. '-1', 'd', ARGV[1], 't', ARGV[5])
          redis.call('EXPIRE', meta, ARGV[3])
          redis.call('EXPIRE', stream, ARGV[3])
          redis.call('PUBLISH', 'courier:{' .. c .. '}', epoch .. ':' .. seq .. ':' .. ARGV[5] .. ':' .. ARGV[1])
        end
        return #members
        """)

    /// KEYS: meta, stream, owner, presence. ARGV: a new epoch, `<node> <connection>`, key TTL,
    /// client ID, presence lapse time, the client's last seq, fresh ("1") or resume ("0").
    /// Returns {epoch, top, delivered, previous owner or "", was present (0/1), entries after
    /// the client's seq (fresh: after `delivered`) as {id, {field, value, ...}}}.
    static let open = RedisScript("""
        local epoch = redis.call('HGET', KEYS[1], 'epoch')
        if not epoch then
          epoch = ARGV[1]
          redis.call('HSET', KEYS[1], 'epoch', epoch, 'top', 0, 'delivered', 0)
        end
        redis.call('EXPIRE', KEYS[1], ARGV[3])
        local top = tonumber(redis.call('HGET', KEYS[1], 'top')) or 0
        local delivered = tonumber(redis.call('HGET', KEYS[1], 'delivered')) or 0
        local previous = redis.call('GET', KEYS[3]) or ''
        redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[3])
        local present = redis.call('ZSCORE', KEYS[4], ARGV[4]) and 1 or 0
        redis.call('ZADD', KEYS[4], ARGV[5], ARGV[4])
        local from = tonumber(ARGV[6])
        if ARGV[7] == '1' then from = delivered end
        local entries = {}
        if from < top then entries = redis.call('XRANGE', KEYS[2], (from + 1) .. '-1', '+') end
        return {epoch, top, delivered, previous, present, entries}
        """)

    /// KEYS: meta, owner, presence. ARGV: `<node> <connection>`, client ID, delivered seq,
    /// deliberate ("1"/"0"), presence lapse time for a dropped connection. Returns 1 when a
    /// deliberate close ended the client's presence (report `disconnected` now), else 0.
    static let detach = RedisScript("""
        if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) else return 0 end
        local delivered = tonumber(redis.call('HGET', KEYS[1], 'delivered') or '0') or 0
        if tonumber(ARGV[3]) > delivered then redis.call('HSET', KEYS[1], 'delivered', ARGV[3]) end
        if ARGV[4] == '1' then return redis.call('ZREM', KEYS[3], ARGV[2]) end
        redis.call('ZADD', KEYS[3], 'XX', ARGV[5], ARGV[2])
        return 0
        """)

    /// KEYS: presence. ARGV: now, at most how many. Removes and returns the client IDs whose
    /// presence lapsed: each is returned to exactly one caller, on whichever node.
    static let reap = RedisScript("""
        local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
        for _, c in ipairs(gone) do redis.call('ZREM', KEYS[1], c) end
        return gone
        """)

    /// KEYS: presence. ARGV: lapse time, then the client IDs connected to the calling node.
    /// Pushes their lapse back; returns those that were no longer there (reaped meanwhile).
    static let refresh = RedisScript("""
        local back = {}
        for i = 2, #ARGV do
          if not redis.call('ZSCORE', KEYS[1], ARGV[i]) then back[#back + 1] = ARGV[i] end
          redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i])
        end
        return back
        """)

    static func meta(_ clientID: String) -> String { "courier:{\(clientID)}:meta" }
    static func stream(_ clientID: String) -> String { "courier:{\(clientID)}:stream" }
    static func owner(_ clientID: String) -> String { "courier:{\(clientID)}:owner" }
    static func channel(_ clientID: String) -> String { "courier:{\(clientID)}" }
    static func idempotency(_ clientID: String, _ key: String) -> String { "courier:{\(clientID)}:idem:\(key)" }
    static func topic(_ name: String) -> String { "courier:topic:\(name)" }
    static func node(_ nodeID: String) -> String { "courier:node:\(nodeID)" }
    static let presence = "courier:presence"
}
