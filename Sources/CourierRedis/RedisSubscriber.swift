public import CourierLoop

/// A message published on a channel this subscriber follows.
public struct RedisMessage: Sendable, Hashable {
    /// The channel's name as bytes, exactly as published.
    public let channel: [UInt8]
    /// The message as published; any bytes.
    public let payload: [UInt8]

    /// A message as given, for tests and fakes.
    public init(channel: [UInt8], payload: [UInt8]) {
        self.channel = channel
        self.payload = payload
    }

    /// The channel name as text, invalid UTF-8 replaced with U+FFFD.
    public var channelName: String { String(decoding: channel, as: UTF8.self) }
    /// The payload as text; nil when it is not UTF-8.
    public var text: String? { String(validating: payload, as: UTF8.self) }
}

/// One Pub/Sub connection to Redis, bound to a loop: each channel has one handler, called on
/// the loop for every message, in publishing order.
///
/// Pub/Sub delivers only to connections subscribed at the moment of publishing, so a gap while
/// disconnected is a loss. The subscriber therefore says when one began (`onDisconnected`) and
/// when it ended (`onResubscribed`, after every wanted channel is confirmed again): a caller
/// reads what it missed from a durable source, such as a Stream, between the two. Channels stay
/// wanted across disconnections until `unsubscribe`.
///
/// Connecting, logging in and backoff are the same as `RedisConnection`'s (one `RedisLink`).
/// A subscriber also pings Redis every `subscriberPingInterval` and reconnects when a ping goes
/// unanswered for a whole interval, since a silent channel cannot otherwise tell a quiet
/// publisher from a dead connection.
// @unchecked Sendable: every stored `var` is read and written only on `loop` (the callback API
// asserts it; `close`, `unsubscribe` and the async API hop there first); the `let`s are Sendable.
public final class RedisSubscriber: @unchecked Sendable {
    /// Called on the loop for each message on its channel, in publishing order.
    public typealias Handler = (RedisMessage) -> Void
    /// Called once, on the loop: success when Redis confirmed the subscription, or why it did not.
    public typealias Confirmation = (Result<Void, RedisError>) -> Void

    /// The loop every handler and callback runs on.
    public let loop: EventLoop
    /// The server subscribed to, the same on every reconnect.
    public let endpoint: RedisEndpoint
    /// The connect timeout, backoff and ping interval in force.
    public let configuration: RedisConfiguration

    /// Every wanted channel is subscribed again after a disconnection; messages published in
    /// the gap were lost. Set on the loop.
    public var onResubscribed: (() -> Void)?
    /// The connection went (or could not be made); called once per outage. Set on the loop.
    public var onDisconnected: ((RedisError) -> Void)?

    private let link: RedisLink
    private var table = SubscriptionTable<Handler, Confirmation>()
    private enum Ping { case resubscribed, keepalive }
    /// PINGs sent and not answered, oldest first: their replies carry no command to match.
    private var pings = FIFO<Ping>()
    private var keepaliveOutstanding = false
    private var keepaliveTimer: Timer?
    private var outage = false
    private var started = false
    private var closed = false

    /// At most this many channels per `SUBSCRIBE` when resubscribing, so a subscriber with
    /// thousands of channels does not build one huge command.
    private static let channelsPerCommand = 1_000

    /// Starts connecting at once. May be called from any thread.
    public init(loop: EventLoop, endpoint: RedisEndpoint, configuration: RedisConfiguration = RedisConfiguration()) {
        self.loop = loop
        self.endpoint = endpoint
        self.configuration = configuration
        link = RedisLink(loop: loop, endpoint: endpoint, configuration: configuration)
        runOnLoop { [self] in startIfNeeded() }
    }

    /// Parses a `redis://` URL, then starts connecting. Throws `invalidEndpoint` for a bad URL, before anything is started.
    public convenience init(loop: EventLoop, url: String, configuration: RedisConfiguration = RedisConfiguration()) throws(RedisError) {
        self.init(loop: loop, endpoint: try RedisEndpoint(url: url), configuration: configuration)
    }

    /// The channels wanted now. Read on the loop.
    public var channels: [[UInt8]] {
        loop.assertInLoop()
        return table.channels
    }

    /// Whether Redis has confirmed `channel` on this connection: every message published to it
    /// from now on arrives, in the order Redis ran the publishes. Read on the loop.
    public func isConfirmed(_ channel: [UInt8]) -> Bool {
        loop.assertInLoop()
        return table.isActive(channel)
    }

    /// Logged in; wanted channels are subscribed or about to be. Read on the loop.
    public var isConnected: Bool {
        loop.assertInLoop()
        return link.isReady
    }

    // MARK: Callback API (on the loop)

    /// Follows `channel`, replacing its handler if it had one. `confirmed` runs once Redis has
    /// confirmed the subscription: from then on no message published to it is missed while the
    /// connection lasts. It fails when no connection can be made now (the channel stays wanted
    /// and is subscribed on reconnect, announced by `onResubscribed`) or when the connection
    /// goes before the confirmation comes.
    public func subscribe(_ channel: [UInt8], handler: @escaping Handler, confirmed: Confirmation? = nil) {
        loop.assertInLoop()
        startIfNeeded()
        switch link.admission() {
        case .refuse(let error):
            if closed {
                confirmed?(.failure(.closed))
                return
            }
            _ = table.subscribe(channel, handler: handler, confirmation: nil, sendNow: false)
            confirmed?(.failure(error))
        case .wait:
            _ = table.subscribe(channel, handler: handler, confirmation: confirmed, sendNow: false)
        case .send:
            let outcome = table.subscribe(channel, handler: handler, confirmation: confirmed, sendNow: true)
            if outcome.send { link.send([Array("SUBSCRIBE".utf8), channel]) }
            outcome.confirmedNow?(.success(()))
        }
    }

    /// Follows `channel` by name (sent as UTF-8); as the byte variant, on the loop only.
    public func subscribe(_ channel: String, handler: @escaping Handler, confirmed: Confirmation? = nil) {
        subscribe(Array(channel.utf8), handler: handler, confirmed: confirmed)
    }

    // MARK: Any thread

    /// Follows `channel` from any thread and returns once Redis confirmed it; `handler` runs
    /// on the loop.
    public func subscribe(_ channel: [UInt8], handler: @escaping @Sendable (RedisMessage) -> Void) async throws(RedisError) {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, RedisError>, Never>) in
            let posted = runOnLoop { [self] in
                subscribe(channel, handler: handler) { continuation.resume(returning: $0) }
            }
            if !posted { continuation.resume(returning: .failure(.closed)) }
        }
        try result.get()
    }

    /// Follows `channel` by name from any thread and returns once Redis confirmed it; `handler` runs on the loop.
    public func subscribe(_ channel: String, handler: @escaping @Sendable (RedisMessage) -> Void) async throws(RedisError) {
        try await subscribe(Array(channel.utf8), handler: handler)
    }

    /// Stops following `channel`, from any thread. Once the call reaches the loop (at once when
    /// made there) the handler is dropped, so nothing more is delivered to it even though Redis
    /// may still send a few messages before its `UNSUBSCRIBE`; a confirmation still due fails
    /// with `closed`.
    public func unsubscribe(_ channel: [UInt8]) {
        runOnLoop { [self] in
            let outcome = table.unsubscribe(channel, connected: link.isReady)
            if outcome.send { link.send([Array("UNSUBSCRIBE".utf8), channel]) }
            for confirmation in outcome.orphaned { confirmation(.failure(.closed)) }
        }
    }

    /// Stops following `channel` by name; as the byte variant, from any thread.
    public func unsubscribe(_ channel: String) {
        unsubscribe(Array(channel.utf8))
    }

    /// Closes the connection for good, from any thread: confirmations still due fail with `closed`, and `onResubscribed` and `onDisconnected` are dropped.
    public func close() {
        runOnLoop { [self] in closeOnLoop() }
    }

    // MARK: Internals

    @discardableResult
    private func runOnLoop(_ work: @escaping @Sendable () -> Void) -> Bool {
        loop.perform(work)
    }

    private func startIfNeeded() {
        guard !started, !closed else { return }
        started = true
        loop.onStop { [weak self] in self?.closeOnLoop() }
        link.onReady = { [self] in connected() }
        link.onReply = { [self] reply in received(reply) }
        link.onDown = { [self] error in linkWentDown(error) }
        let interval = max(1, configuration.subscriberPingInterval.wholeMilliseconds)
        let timer = Timer(loop: loop)
        keepaliveTimer = timer
        timer.start(after: interval, repeating: interval) { [self] in keepalive() }
        link.start()
    }

    private func connected() {
        let channels = table.resubscribeAll()
        var start = 0
        while start < channels.count {
            let end = min(start + Self.channelsPerCommand, channels.count)
            link.send([Array("SUBSCRIBE".utf8)] + channels[start..<end])
            start = end
        }
        // Answered after every confirmation above: the end of the resubscription.
        link.send([Array("PING".utf8), Array("courier-resubscribed".utf8)])
        pings.append(.resubscribed)
    }

    private func received(_ reply: RESPValue) {
        switch reply {
        case .array(let items) where items.count >= 2:
            guard let kind = items[0].bytes else { break }
            if kind == Self.message, items.count == 3, let channel = items[1].bytes, let payload = items[2].bytes {
                table.handler(for: channel)?(RedisMessage(channel: channel, payload: payload))
                return
            }
            if kind == Self.subscribe, let channel = items[1].bytes {
                for confirmation in table.confirmed(channel) { confirmation(.success(())) }
                return
            }
            if kind == Self.unsubscribe { return }
            if kind == Self.pong {
                pong()
                return
            }
        case .simpleString, .bulk:
            // PING's reply while no channel is subscribed (plain RESP, not a push).
            pong()
            return
        case .error(let message):
            link.drop(reason: "Redis refused a subscriber command: \(message)")
            return
        default:
            break
        }
        link.drop(reason: "an unexpected reply on a Pub/Sub connection: \(reply)")
    }

    private func pong() {
        switch pings.popFirst() {
        case .resubscribed:
            if outage {
                outage = false
                onResubscribed?()
            }
        case .keepalive:
            keepaliveOutstanding = false
        case nil:
            link.drop(reason: "a PONG for no PING")
        }
    }

    private func keepalive() {
        guard link.isReady else { return }
        if keepaliveOutstanding {
            link.drop(reason: "no answer to PING within \(configuration.subscriberPingInterval)")
            return
        }
        keepaliveOutstanding = true
        pings.append(.keepalive)
        link.send([Array("PING".utf8), Array("courier-keepalive".utf8)])
    }

    private func linkWentDown(_ error: RedisError) {
        pings = FIFO()
        keepaliveOutstanding = false
        let orphaned = table.disconnected()
        if !outage {
            outage = true
            onDisconnected?(error)
        }
        for confirmation in orphaned { confirmation(.failure(error)) }
    }

    private func closeOnLoop() {
        guard !closed else { return }
        closed = true
        link.close()
        keepaliveTimer?.close()
        for confirmation in table.disconnected() { confirmation(.failure(.closed)) }
        onResubscribed = nil
        onDisconnected = nil
    }

    private static let message = Array("message".utf8)
    private static let subscribe = Array("subscribe".utf8)
    private static let unsubscribe = Array("unsubscribe".utf8)
    private static let pong = Array("pong".utf8)
}
