#if canImport(Glibc)
import Glibc
#endif

/// The service's bounds and timings; all configurable, defaults as CHANNEL_API.md gives them.
public struct ChannelSettings: Sendable {
    /// How long messages are held for a client that is away (and kept for one never connected).
    public var recoveryWindowSeconds: Double
    /// Most messages held per client ID while it is away; past it the oldest are dropped.
    public var maxHeldMessages: Int
    /// Held bytes per client ID. The default is what `maxHeldMessages` messages of the largest
    /// size take (1000 × 32,767 bytes), so at the defaults the count is the bound section 4
    /// promises; lower it to cap a client's memory harder.
    public var maxHeldBytes: Int
    /// What the messages held for all clients together may take in memory (each message
    /// counted once, with its text, its JSON form and a reference per client holding it);
    /// `minimumMaxTotalHeldBytes`...Int.max. Reaching it, the clients longest inactive lose
    /// what is held for them: a client that still needed a message of it gets 410 (and opens
    /// afresh), never a gap, and the process is never killed for memory. The default,
    /// `defaultMaxTotalHeldBytes`, is a quarter of the memory the process may use. Kept by the
    /// in-memory engine; the Redis engine holds messages in Redis, bounded per client there.
    public var maxTotalHeldBytes: Int
    /// A silent client is declared gone within this interval (WebSocket ping, long-poll liveness).
    public var heartbeatSeconds: Double
    /// A connection that comes back within this time was a blip: no presence events.
    public var presenceGraceSeconds: Double
    /// How long a long-poll request waits for messages before answering empty.
    public var pollTimeoutSeconds: Double
    /// Serve the WebSocket transport (turn off to force long-polling, e.g. behind a proxy).
    public var webSocketEnabled: Bool

    /// Defaults: a 120 s recovery window, 1000 held messages, a 30 s heartbeat, a 1 s presence grace, 20 s polls, WebSocket on, a quarter of memory for everything held.
    public init(recoveryWindowSeconds: Double = 120, maxHeldMessages: Int = 1000,
                maxHeldBytes: Int = 1000 * ChannelLimits.maxMessageBytes,
                heartbeatSeconds: Double = 30, presenceGraceSeconds: Double = 1, pollTimeoutSeconds: Double = 20,
                webSocketEnabled: Bool = true, maxTotalHeldBytes: Int = ChannelSettings.defaultMaxTotalHeldBytes) {
        self.recoveryWindowSeconds = recoveryWindowSeconds
        self.maxHeldMessages = maxHeldMessages
        self.maxHeldBytes = maxHeldBytes
        self.maxTotalHeldBytes = maxTotalHeldBytes
        self.heartbeatSeconds = heartbeatSeconds
        self.presenceGraceSeconds = presenceGraceSeconds
        self.pollTimeoutSeconds = pollTimeoutSeconds
        self.webSocketEnabled = webSocketEnabled
    }

    // Timings derived from the heartbeat, so that `disconnected` for a silently dead client
    // comes within one heartbeat (section 5) whatever the heartbeat is set to.

    /// A WebSocket silent this long is pinged (plus a random spread of up to half of it): as
    /// late as still lets its close (the pong timeout later), the presence grace and two 250 ms
    /// sweeps fit in one heartbeat, and never sooner than a quarter heartbeat. Every ping costs
    /// both ends a write and a read: at the default 30 s heartbeat a client is pinged after 13 to
    /// 19.5 s of silence rather than 7.5 to 11 (100,000 idle clients: ~6,200 pings a second,
    /// not 10,500). The JavaScript client's own pings (every 15 s) keep most browsers from needing one.
    var webSocketPingMilliseconds: UInt64 {
        // A twentieth of the heartbeat kept in hand for a loop running late.
        let latest = (heartbeatSeconds * 0.7 - effectivePresenceGraceSeconds - 0.5) / 1.5
        return max(1, UInt64(max(heartbeatSeconds * 0.25, latest) * 1000))
    }

    /// How long a ping waits for its pong: a quarter heartbeat.
    var webSocketPongTimeoutMilliseconds: UInt64 { max(1, UInt64(heartbeatSeconds * 250)) }

    /// The grace, shortened when the heartbeat is so short that the silent WebSocket's close
    /// (0.625 heartbeats at the shortest ping), the grace and two 250 ms sweeps would not fit
    /// in one heartbeat.
    package var effectivePresenceGraceSeconds: Double {
        min(presenceGraceSeconds, max(0, heartbeatSeconds * 0.375 - 0.5))
    }

    /// The poll timeout, shortened so a live long-poll client's next poll always arrives
    /// (with a second to spare) before it would be counted gone.
    var longPollWaitSeconds: Double { max(0.5, min(pollTimeoutSeconds, heartbeatSeconds - 1.5)) }

    /// A long-poll client with no new poll for this long is gone: a heartbeat less the sweep's
    /// period, but never before a live client's next poll is due.
    var longPollStaleSeconds: Double { max(heartbeatSeconds - 0.25, longPollWaitSeconds + 1) }

    /// The smallest `maxTotalHeldBytes` accepted, 1 MiB: room for a dozen of the largest messages.
    public static let minimumMaxTotalHeldBytes = 1 << 20

    /// A quarter of the memory this process may use: the machine's, or its control group's limit
    /// when that is lower (a container's). Read once.
    public static var defaultMaxTotalHeldBytes: Int { defaultTotalHeldBytes }

    private static let defaultTotalHeldBytes: Int = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        var memory = Int.max
        if pages > 0, pageSize > 0 {
            let (product, overflow) = pages.multipliedReportingOverflow(by: pageSize)
            if !overflow { memory = product }
        }
        for path in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
            if let limit = readLimit(path), limit > 0 { memory = min(memory, limit) }
        }
        // No figure at all: 4 GiB, as for a small machine.
        if memory == .max { memory = 4 << 30 }
        return max(minimumMaxTotalHeldBytes, memory / 4)
    }()

    /// A cgroup memory limit: a decimal number of bytes; nil for "max", unreadable or unparsable.
    private static func readLimit(_ path: String) -> Int? {
        let file = open(path, O_RDONLY | O_CLOEXEC)
        guard file >= 0 else { return nil }
        defer { close(file) }
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { read(file, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        let digits = buffer[0..<count].prefix { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        return Int(String(decoding: digits, as: UTF8.self))
    }
}
