public import CourierHTTP

/// Everything a server operator may tune, with the defaults DESIGN.md promises.
public struct ServerConfiguration: Sendable {
    /// The address to listen on: "0.0.0.0" for every IPv4 interface, "127.0.0.1" for local only, or an IPv6 address.
    public var host: String
    /// 0 picks a free port (tests); read the chosen one from `HTTPServer.port`.
    public var port: Int
    /// Event loops, each on its own thread with its own SO_REUSEPORT listener.
    public var workers: Int
    /// Caps on the request line and header section (414 and 431 beyond them).
    public var parserLimits: HTTPRequestParser.Limits
    /// Default request body limit (413 beyond it); a responder may choose another per request.
    public var maxBodyBytes: Int
    /// From a request's first byte to its last, and between body reads (408 after it).
    public var headerTimeoutMilliseconds: UInt64
    /// A kept-alive connection with no request in progress is closed after this.
    public var idleTimeoutMilliseconds: UInt64
    /// Past this many unsent bytes the server stops reading from the connection until the peer
    /// reads its responses, so a client that never reads cannot make memory grow.
    public var maxPendingWriteBytes: Int
    /// Time given to requests in flight after SIGINT/SIGTERM before connections are cut.
    public var shutdownDeadlineMilliseconds: UInt64
    /// Installs SIGINT/SIGTERM handlers that shut the server down gracefully.
    public var handlesSignals: Bool
    /// 0 (the default): a loop with nothing to do sleeps in `epoll_wait`. Above 0: after each
    /// read a loop keeps polling, without sleeping, for this many microseconds, so a request
    /// arriving in that window costs no wake-up (0.3–4 ms on the VM the benchmarks ran on) but
    /// the loop's core stays busy for the window. For a server with cores to itself that wants
    /// the lowest latency; see `Benchmarks/channel/NOTES.md`.
    public var busyPollMicroseconds: UInt64
    /// Lets other processes listen on the same port (SO_REUSEPORT), the kernel spreading
    /// connections between them: how one machine serves more connections than one process may
    /// hold descriptors for. Every process sharing the port must ask for it. Off (the default), a
    /// port already in use fails the start with EADDRINUSE, even though a server's own workers
    /// still share their port among themselves.
    public var reusePort: Bool
    /// The most connections the process holds at once, across all its workers (HTTP and
    /// WebSocket alike, closing ones included): 1...Int32.max. One more is accepted and closed
    /// at once without a response, counted in `HTTPServer.refusedConnections`, and a warning
    /// is logged at most once a second. The default, `defaultMaxConnections`, follows the
    /// process's descriptor limit, so the limit is met before the kernel refuses descriptors.
    public var maxConnections: Int
    /// The reverse proxies whose `X-Forwarded-*` and `Forwarded` fields are believed for a
    /// request's client address, scheme and host (`RequestSource`); nobody by default, so that
    /// a client connecting directly cannot forge them.
    public var trustedProxies: TrustedProxies

    /// Defaults: every interface on 8080, one worker per core (at least one), 1 MiB bodies and write backlog, 10 s header and shutdown deadlines, 60 s idle, signals handled, connections up to the descriptor limit less a reserve, no proxy trusted.
    public init(host: String = "0.0.0.0", port: Int = 8080, workers: Int = ServerConfiguration.coreCount,
                parserLimits: HTTPRequestParser.Limits = .init(), maxBodyBytes: Int = 1 << 20,
                headerTimeoutMilliseconds: UInt64 = 10_000, idleTimeoutMilliseconds: UInt64 = 60_000,
                maxPendingWriteBytes: Int = 1 << 20, shutdownDeadlineMilliseconds: UInt64 = 10_000,
                handlesSignals: Bool = true, busyPollMicroseconds: UInt64 = 0, reusePort: Bool = false,
                maxConnections: Int = ServerConfiguration.defaultMaxConnections,
                trustedProxies: TrustedProxies = TrustedProxies()) {
        self.host = host
        self.port = port
        self.workers = max(1, workers)
        self.parserLimits = parserLimits
        self.maxBodyBytes = maxBodyBytes
        self.headerTimeoutMilliseconds = headerTimeoutMilliseconds
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
        self.maxPendingWriteBytes = maxPendingWriteBytes
        self.shutdownDeadlineMilliseconds = shutdownDeadlineMilliseconds
        self.handlesSignals = handlesSignals
        self.busyPollMicroseconds = busyPollMicroseconds
        self.reusePort = reusePort
        self.maxConnections = maxConnections
        self.trustedProxies = trustedProxies
    }

    /// The largest `maxConnections` accepted: a descriptor is an `Int32`.
    public static let maxConnectionsLimit = Int(Int32.max)

    /// The process's open-file limit now (RLIMIT_NOFILE, soft) less a reserve of a sixteenth of
    /// it, at least 64 but never more than half, for what else needs descriptors: files being
    /// served, Redis and database connections, the loops' own, and the one a refused
    /// connection needs for a moment to be accepted and closed. 20,000 gives 18,750; the usual
    /// 1,024 gives 960. Raise the limit (`ulimit -n`, systemd's `LimitNOFILE`) to hold more
    /// connections; the limit is read when the configuration is made.
    public static var defaultMaxConnections: Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 960 }
        // RLIM_INFINITY and anything past a descriptor's range count as the largest.
        let descriptors = limit.rlim_cur >= rlim_t(maxConnectionsLimit) ? maxConnectionsLimit : Int(limit.rlim_cur)
        let reserve = min(max(64, descriptors / 16), descriptors / 2)
        return max(1, descriptors - reserve)
    }

    /// The online CPU cores, at least 1: the default worker count.
    public static var coreCount: Int {
        let count = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return count > 0 ? count : 1
    }
}

#if canImport(Glibc)
import Glibc
#endif
