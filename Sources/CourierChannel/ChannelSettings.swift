/// The service's bounds and timings; all configurable, defaults as CHANNEL_API.md gives them.
public struct ChannelSettings: Sendable {
    /// How long messages are held for a client that is away (and kept for one never connected).
    public var recoveryWindowSeconds: Double
    public var maxHeldMessages: Int
    /// Held bytes per client ID, so memory stays bounded whatever the app sends.
    public var maxHeldBytes: Int
    /// A silent client is declared gone within this interval (WebSocket ping, long-poll liveness).
    public var heartbeatSeconds: Double
    /// A connection that comes back within this time was a blip: no presence events.
    public var presenceGraceSeconds: Double
    /// How long a long-poll request waits for messages before answering empty.
    public var pollTimeoutSeconds: Double
    /// Serve the WebSocket transport (turn off to force long-polling, e.g. behind a proxy).
    public var webSocketEnabled: Bool

    public init(recoveryWindowSeconds: Double = 120, maxHeldMessages: Int = 1000, maxHeldBytes: Int = 4 << 20,
                heartbeatSeconds: Double = 30, presenceGraceSeconds: Double = 1, pollTimeoutSeconds: Double = 20,
                webSocketEnabled: Bool = true) {
        self.recoveryWindowSeconds = recoveryWindowSeconds
        self.maxHeldMessages = maxHeldMessages
        self.maxHeldBytes = maxHeldBytes
        self.heartbeatSeconds = heartbeatSeconds
        self.presenceGraceSeconds = presenceGraceSeconds
        self.pollTimeoutSeconds = pollTimeoutSeconds
        self.webSocketEnabled = webSocketEnabled
    }
}
