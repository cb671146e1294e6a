/// Limits and timings shared by `RedisConnection` and `RedisSubscriber`.
public struct RedisConfiguration: Sendable {
    /// How long Redis may take to answer the oldest command waiting on a connection, counted from
    /// when it became the oldest (sent, or the reply before it came): a burst pipelined behind it
    /// does not count against it, a Redis that stops answering is noticed this long after its
    /// last reply. On expiry that command and every one behind it fail and the connection is
    /// made again, since the remaining replies could no longer be matched. A command may ask
    /// for its own (a blocking `XREAD`).
    public var commandTimeout: Duration
    /// Bounds one attempt: resolving the host, connecting and logging in. Commands issued
    /// during an attempt wait for it, so this is also the longest they wait for a connection.
    public var connectTimeout: Duration
    /// The wait between failed connect attempts; commands sent meanwhile fail at once with `notConnected`.
    public var backoff: RedisBackoff
    /// Commands waiting for a connection plus bytes the socket has not taken: past this, new
    /// commands fail with `overloaded` instead of growing memory while Redis is slow or away.
    public var maximumQueuedBytes: Int
    /// A subscriber is silent when no one publishes, so it pings this often and reconnects
    /// when a ping is not answered before the next: a connection cut without a reset (a
    /// partition, a dead host) is noticed within two intervals instead of never.
    public var subscriberPingInterval: Duration
    /// Sent with `CLIENT SETNAME` on every connect, to find these connections in `CLIENT LIST`.
    public var clientName: String?

    /// Defaults: 2 s per command and per connect attempt, 32 MiB queued at most, a subscriber ping every 5 s, no client name.
    public init(commandTimeout: Duration = .seconds(2), connectTimeout: Duration = .seconds(2),
                backoff: RedisBackoff = RedisBackoff(), maximumQueuedBytes: Int = 32 * 1024 * 1024,
                subscriberPingInterval: Duration = .seconds(5), clientName: String? = nil) {
        self.commandTimeout = commandTimeout
        self.connectTimeout = connectTimeout
        self.backoff = backoff
        self.maximumQueuedBytes = maximumQueuedBytes
        self.subscriberPingInterval = subscriberPingInterval
        self.clientName = clientName
    }
}
