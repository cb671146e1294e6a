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
/// Topics: `courier:{c}:topics` (hash: topic → `<joined> <delivered>`, the client's positions in
/// it: where it joined, and how far a connection was handed as last recorded); per topic `t`
/// (named with its length `n` first, so no name spells another's) `courier:ttop:<n>:<t>` (its
/// offset, never expiring, so an offset is never used twice) and `courier:tlog:<n>:<t>` (its
/// messages, entry ID `<offset>-1`, fields as a client's Stream).
/// Pub/Sub: `courier:{c}` carries `<epoch>:<seq>:<time>:<text>`, and `+<offset> <topic>` /
/// `-<topic>` when the client joins or leaves a topic; `courier:tpub:<n>:<t>` carries
/// `<offset>:<time>:<text>`; `courier:node:<node>` carries `kick <client ID> <connection>` to the
/// node whose connection was replaced.
enum ChannelScripts {
    /// KEYS: meta, stream, owner, topics. ARGV: text, max held count, key TTL seconds, Pub/Sub channel,
    /// a new epoch (used if the session has none), now (seconds), idempotency key or "", its
    /// TTL. Returns {epoch, seq}. A client with no connection (no owner) is forgotten a key TTL
    /// after the last send to it; a connected one's keys do not expire (see `open`).
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
        if redis.call('EXISTS', KEYS[3]) == 0 then
          redis.call('EXPIRE', KEYS[1], ARGV[3])
          redis.call('EXPIRE', KEYS[2], ARGV[3])
          redis.call('EXPIRE', KEYS[4], ARGV[3])
        end
        if idem ~= '' then redis.call('SET', idem, seq, 'EX', ARGV[8]) end
        redis.call('PUBLISH', ARGV[4], epoch .. ':' .. seq .. ':' .. ARGV[6] .. ':' .. ARGV[1])
        return {epoch, seq}
        """)

    /// A topic publish, O(1) in the members: the message goes once into the topic's log under
    /// the topic's next offset and once to the topic's Pub/Sub channel, and each node hands it
    /// to the subscribers connected to it (their positions per topic: `open`, `progress`). A few
    /// members picked at random are checked each time and those whose session lapsed leave the
    /// set, so an abandoned member does not stay counted for ever; `subscribers` checks them all.
    /// KEYS: the topic set, the publish's idempotency key or the topic set again, the topic's
    /// log, its offset counter. ARGV: text, max held count, now, idempotency TTL, the topic's
    /// Pub/Sub channel, key TTL. Returns the number of members sent to.
    static let publish = RedisScript("""
        if KEYS[2] ~= KEYS[1] then
          local seen = redis.call('GET', KEYS[2])
          if seen then return tonumber(seen) end
        end
        for _, c in ipairs(redis.call('SRANDMEMBER', KEYS[1], 8)) do
          if redis.call('EXISTS', 'courier:{' .. c .. '}:meta') == 0 then redis.call('SREM', KEYS[1], c) end
        end
        local sent = redis.call('SCARD', KEYS[1])
        if sent > 0 then
          local k = redis.call('INCR', KEYS[4])
          redis.call('XADD', KEYS[3], 'MAXLEN', ARGV[2], k .. '-1', 'd', ARGV[1], 't', ARGV[3])
          redis.call('EXPIRE', KEYS[3], ARGV[6])
          redis.call('PUBLISH', ARGV[5], k .. ':' .. ARGV[3] .. ':' .. ARGV[1])
        end
        if KEYS[2] ~= KEYS[1] then redis.call('SET', KEYS[2], sent, 'EX', ARGV[4]) end
        return sent
        """)

    /// KEYS: topic set, topic offset counter. ARGV: an epoch stem, key TTL, the topic, then
    /// client IDs. Makes each client's session if it has none (so a publish before its first
    /// connect is held for it; the epoch is the stem and the client's place), adds it, and
    /// records its position in the topic (`<joined> <delivered>`, both the topic's offset now:
    /// it gets what is published from here on). The node holding the client hears of it on the
    /// client's channel (`+<offset> <topic>`).
    static let subscribe = RedisScript("""
        local k = redis.call('GET', KEYS[2]) or '0'
        for i = 4, #ARGV do
          local c = ARGV[i]
          local meta, topics = 'courier:{' .. c .. '}:meta', 'courier:{' .. c .. '}:topics'
          if redis.call('EXISTS', meta) == 0 then
            redis.call('HSET', meta, 'epoch', ARGV[1] .. string.format('%x', i), 'top', 0, 'delivered', 0)
            redis.call('EXPIRE', meta, ARGV[2])
          end
          if redis.call('SADD', KEYS[1], c) == 1 or redis.call('HEXISTS', topics, ARGV[3]) == 0 then
            redis.call('HSET', topics, ARGV[3], k .. ' ' .. k)
            local ttl = redis.call('PTTL', meta)
            if ttl > 0 then redis.call('PEXPIRE', topics, ttl) else redis.call('PERSIST', topics) end
            redis.call('PUBLISH', 'courier:{' .. c .. '}', '+' .. k .. ' ' .. ARGV[3])
          end
        end
        return #ARGV - 3
        """)

    /// KEYS: topic set. ARGV: the topic, then client IDs. The node holding each one hears of
    /// it on the client's channel (`-<topic>`).
    static let unsubscribe = RedisScript("""
        for i = 2, #ARGV do
          local c = ARGV[i]
          if redis.call('SREM', KEYS[1], c) == 1 then
            redis.call('HDEL', 'courier:{' .. c .. '}:topics', ARGV[1])
            redis.call('PUBLISH', 'courier:{' .. c .. '}', '-' .. ARGV[1])
          end
        end
        return 0
        """)

    /// KEYS: topic set. The members whose sessions still exist; lapsed ones leave the set.
    static let subscribers = RedisScript("""
        local members = redis.call('SMEMBERS', KEYS[1])
        local live = {}
        for _, c in ipairs(members) do
          if redis.call('EXISTS', 'courier:{' .. c .. '}:meta') == 1 then
            live[#live + 1] = c
          else
            redis.call('SREM', KEYS[1], c)
          end
        end
        return live
        """)

    /// KEYS: meta, stream, owner, presence, topics, this node's client set. ARGV: a new epoch,
    /// `<node> <connection>`, client ID, (unused), the client's last seq, fresh ("1") or resume
    /// ("0"), then pairs of topic and the last offset the client saw in it (a resume). A
    /// connected client's presence never lapses by itself (score `+inf`): it lapses when it
    /// leaves (`detach`) or when its node stops saying it is alive (`reap`), so keeping 100,000
    /// clients present costs each node one command per refresh, not one per client.
    /// Returns {epoch, top, delivered, previous owner or "", was present (0/1), entries after
    /// the client's seq (fresh: after `delivered`) as {id, {field, value, ...}}, and per topic
    /// {topic, its offset, the client's position, the entries after it}}. The position is the
    /// client's own (never before it joined) on a resume, the recorded `delivered` on a fresh open. While a
    /// connection owns the client its keys do not expire: a quiet client keeps its session
    /// however long it stays; they expire a key TTL after it leaves (`detach`, `reap`).
    static let open = RedisScript("""
        local epoch = redis.call('HGET', KEYS[1], 'epoch')
        if not epoch then
          epoch = ARGV[1]
          redis.call('HSET', KEYS[1], 'epoch', epoch, 'top', 0, 'delivered', 0)
        end
        redis.call('PERSIST', KEYS[1])
        redis.call('PERSIST', KEYS[2])
        redis.call('PERSIST', KEYS[5])
        local top = tonumber(redis.call('HGET', KEYS[1], 'top')) or 0
        local delivered = tonumber(redis.call('HGET', KEYS[1], 'delivered')) or 0
        local previous = redis.call('GET', KEYS[3]) or ''
        redis.call('SET', KEYS[3], ARGV[2])
        local present = redis.call('ZSCORE', KEYS[4], ARGV[3]) and 1 or 0
        redis.call('ZADD', KEYS[4], '+inf', ARGV[3])
        local previousNode = string.match(previous, '^(%S+) ')
        if previousNode then redis.call('SREM', 'courier:nodeclients:' .. previousNode, ARGV[3]) end
        redis.call('SADD', KEYS[6], ARGV[3])
        local from = tonumber(ARGV[5])
        if ARGV[6] == '1' then from = delivered end
        local entries = {}
        if from < top then entries = redis.call('XRANGE', KEYS[2], (from + 1) .. '-1', '+') end
        local given = {}
        for i = 7, #ARGV - 1, 2 do given[ARGV[i]] = tonumber(ARGV[i + 1]) end
        local topics = {}
        local positions = redis.call('HGETALL', KEYS[5])
        for i = 1, #positions - 1, 2 do
          local name = positions[i]
          local joined, handed = string.match(positions[i + 1], '^(%d+) (%d+)$')
          joined, handed = tonumber(joined) or 0, tonumber(handed) or 0
          local n = string.len(name)
          local offset = tonumber(redis.call('GET', 'courier:ttop:' .. n .. ':' .. name) or '0') or 0
          local at = handed
          if ARGV[6] ~= '1' then at = math.max(given[name] or joined, joined) end
          local held = {}
          if at < offset then held = redis.call('XRANGE', 'courier:tlog:' .. n .. ':' .. name, (at + 1) .. '-1', '+') end
          topics[#topics + 1] = {name, offset, at, held}
        end
        return {epoch, top, delivered, previous, present, entries, topics}
        """)

    /// KEYS: meta, owner, presence, stream, topics, this node's client set. ARGV: `<node> <connection>`, client ID,
    /// delivered seq, deliberate ("1"/"0"), presence lapse time for a dropped connection, key
    /// TTL, then pairs of topic and the offset handed in it. Returns
    /// 1 when a deliberate close ended the client's presence (report `disconnected` now), else 0.
    static let detach = RedisScript("""
        if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) else return 0 end
        redis.call('SREM', KEYS[6], ARGV[2])
        local delivered = tonumber(redis.call('HGET', KEYS[1], 'delivered') or '0') or 0
        if tonumber(ARGV[3]) > delivered then redis.call('HSET', KEYS[1], 'delivered', ARGV[3]) end
        for i = 7, #ARGV - 1, 2 do
          local position = redis.call('HGET', KEYS[5], ARGV[i])
          local joined, handed = string.match(position or '', '^(%d+) (%d+)$')
          if joined and tonumber(ARGV[i + 1]) > tonumber(handed) then redis.call('HSET', KEYS[5], ARGV[i], joined .. ' ' .. ARGV[i + 1]) end
        end
        redis.call('EXPIRE', KEYS[1], ARGV[6])
        redis.call('EXPIRE', KEYS[4], ARGV[6])
        redis.call('EXPIRE', KEYS[5], ARGV[6])
        if ARGV[4] == '1' then return redis.call('ZREM', KEYS[3], ARGV[2]) end
        redis.call('ZADD', KEYS[3], 'XX', ARGV[5], ARGV[2])
        return 0
        """)

    /// KEYS: presence, the nodes. ARGV: now, at most how many, key TTL. First the nodes that
    /// stopped saying they are alive (`alive`): the clients still connected there lapse now.
    /// Then removes and returns the client IDs whose presence lapsed: each is returned to
    /// exactly one caller, on whichever node. Their keys, kept while a connection owned them,
    /// now expire (the owning node died, or was paused; `refresh` keeps them again if it comes back).
    static let reap = RedisScript("""
        for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 16)) do
          redis.call('ZREM', KEYS[2], node)
          local set = 'courier:nodeclients:' .. node
          for _, c in ipairs(redis.call('SMEMBERS', set)) do
            if redis.call('ZSCORE', KEYS[1], c) == 'inf' then redis.call('ZADD', KEYS[1], ARGV[1], c) end
          end
          redis.call('DEL', set)
        end
        local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
        for _, c in ipairs(gone) do
          redis.call('ZREM', KEYS[1], c)
          for _, suffix in ipairs({':meta', ':stream', ':owner', ':topics'}) do
            local key = 'courier:{' .. c .. '}' .. suffix
            if redis.call('TTL', key) == -1 then redis.call('EXPIRE', key, ARGV[3]) end
          end
        end
        return gone
        """)

    /// KEYS: presence, this node's client set. ARGV: (unused), the calling node, then the client
    /// IDs connected to it: run when the node was taken for dead (`alive` answered 1), it marks
    /// them connected again; returns those that were no longer there (reaped meanwhile), whose
    /// keys are kept again while the node still owns them.
    static let refresh = RedisScript("""
        local back = {}
        for i = 3, #ARGV do
          local c = ARGV[i]
          if not redis.call('ZSCORE', KEYS[1], c) then
            back[#back + 1] = c
            local owner = redis.call('GET', 'courier:{' .. c .. '}:owner') or ''
            if string.sub(owner, 1, #ARGV[2] + 1) == ARGV[2] .. ' ' then
              for _, suffix in ipairs({':meta', ':stream', ':owner', ':topics'}) do redis.call('PERSIST', 'courier:{' .. c .. '}' .. suffix) end
            end
          end
          redis.call('ZADD', KEYS[1], '+inf', c)
          redis.call('SADD', KEYS[2], c)
        end
        return back
        """)

    /// KEYS: the nodes. ARGV: the calling node, the time its clients' presence lapses unless it
    /// says so again. One command per node per refresh, whatever its clients. Returns 1 when the
    /// node was not listed (new, or taken for dead while it was paused or cut off): it then
    /// marks its clients connected again (`refresh`).
    static let alive = RedisScript("""
        return redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
        """)

    /// ARGV: per client, its ID, epoch, the highest seq handed to its connection here, how many
    /// topics follow, then pairs of topic and the offset handed in it. Records how far each got
    /// (`delivered`), so a fresh open elsewhere after this node died replays at most what was
    /// handed since the last record.
    static let progress = RedisScript("""
        local i = 1
        while i + 3 <= #ARGV do
          local c, count = ARGV[i], tonumber(ARGV[i + 3]) or 0
          local meta, topics = 'courier:{' .. c .. '}:meta', 'courier:{' .. c .. '}:topics'
          if redis.call('HGET', meta, 'epoch') == ARGV[i + 1] then
            local delivered = tonumber(redis.call('HGET', meta, 'delivered') or '0') or 0
            if tonumber(ARGV[i + 2]) > delivered then redis.call('HSET', meta, 'delivered', ARGV[i + 2]) end
            for j = i + 4, i + 2 + 2 * count, 2 do
              local joined, handed = string.match(redis.call('HGET', topics, ARGV[j]) or '', '^(%d+) (%d+)$')
              if joined and tonumber(ARGV[j + 1]) > tonumber(handed) then redis.call('HSET', topics, ARGV[j], joined .. ' ' .. ARGV[j + 1]) end
            end
          end
          i = i + 4 + 2 * count
        end
        return 0
        """)

    static func meta(_ clientID: String) -> String { "courier:{\(clientID)}:meta" }
    static func stream(_ clientID: String) -> String { "courier:{\(clientID)}:stream" }
    static func owner(_ clientID: String) -> String { "courier:{\(clientID)}:owner" }
    static func channel(_ clientID: String) -> String { "courier:{\(clientID)}" }
    static func idempotency(_ clientID: String, _ key: String) -> String { "courier:{\(clientID)}:idem:\(key)" }
    static func topic(_ name: String) -> String { "courier:topic:\(name)" }
    static func topics(_ clientID: String) -> String { "courier:{\(clientID)}:topics" }
    static func topicOffset(_ name: String) -> String { "courier:ttop:\(name.utf8.count):\(name)" }
    static func topicLog(_ name: String) -> String { "courier:tlog:\(name.utf8.count):\(name)" }
    static func topicChannel(_ name: String) -> String { "courier:tpub:\(name.utf8.count):\(name)" }
    static func node(_ nodeID: String) -> String { "courier:node:\(nodeID)" }
    static func nodeClients(_ nodeID: String) -> String { "courier:nodeclients:\(nodeID)" }
    static let nodes = "courier:nodes"
    /// The topic's length first, so no topic and key pair spells another's.
    static func publishIdempotency(_ topic: String, _ key: String) -> String { "courier:published:\(topic.utf8.count):\(topic):\(key)" }
    static let presence = "courier:presence"
}
