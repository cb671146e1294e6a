import Courier
import CourierLoop
import CourierChannel
import CourierTesting
import Foundation
import Synchronization

/// 32 fixed bytes, so tokens are reproducible across a test's service and its checks.
let testSecret: [UInt8] = Array(0..<32)

/// Small timings so recovery, presence and polling are observable within a test.
func testSettings(maxHeldMessages: Int = 1000, heartbeatSeconds: Double = 30, presenceGraceSeconds: Double = 1,
                  pollTimeoutSeconds: Double = 1) -> ChannelSettings {
    ChannelSettings(recoveryWindowSeconds: 120, maxHeldMessages: maxHeldMessages, heartbeatSeconds: heartbeatSeconds,
                    presenceGraceSeconds: presenceGraceSeconds, pollTimeoutSeconds: pollTimeoutSeconds)
}

/// Starts an app carrying `Channels` on a free loopback port, runs `body`, then stops it.
/// `middleware` runs before the channel middleware; `routes` adds the app's own routes.
func withChannelServer(_ service: ChannelService, presence: PresenceLog? = nil, workers: Int = 1,
                       middleware: [any RequestStage] = [], routes: (Application) -> Void = { _ in },
                       _ body: (Int) async throws -> Void) async throws {
    let app = Application()
    for extra in middleware { app.use(extra) }
    app.use(Channels(service, presence: presence != nil))
    routes(app)
    if let presence {
        app.post(Channels.connectedPath) { request, response in
            let parsed = ChannelPresence(request)
            presence.record(parsed.clientID, connected: parsed.isConnected)
            response.write("ok")
        }
        app.post(Channels.disconnectedPath) { request, response in
            presence.record(request["from"], connected: ChannelPresence(request).isConnected)
            response.write("ok")
        }
    }
    let server = try app.start(configuration: ServerConfiguration(host: "127.0.0.1", port: 0, workers: workers, handlesSignals: false))
    defer {
        server.shutdown()
        server.waitUntilStopped()
    }
    try await body(server.port)
}

/// The presence notifications the app's own routes received, in order.
final class PresenceLog: Sendable {
    struct Event: Equatable, Sendable, CustomStringConvertible {
        let clientID: String
        let connected: Bool
        let at: ContinuousClock.Instant
        static func == (a: Event, b: Event) -> Bool { a.clientID == b.clientID && a.connected == b.connected }
        var description: String { "\(connected ? "connected" : "disconnected")(\(clientID))" }
    }

    private let events = Locked<[Event]>([])

    func record(_ clientID: String, connected: Bool) {
        events.withLock { $0.append(Event(clientID: clientID, connected: connected, at: .now)) }
    }

    var all: [Event] { events.withLock { $0 } }

    /// Waits (at most `seconds`) until `count` events have arrived; returns them all.
    func wait(forCount count: Int, seconds: Double = 5) async -> [Event] {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while all.count < count, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return all
    }
}

func event(_ clientID: String, _ connected: Bool) -> PresenceLog.Event {
    PresenceLog.Event(clientID: clientID, connected: connected, at: .now)
}

/// One frame of the channel protocol as the server sent it (a WebSocket close is `type: "close"`).
struct ChannelFrame: Decodable, Equatable, Sendable {
    var type: String
    var code: Int?
    var description: String?
    var seq: UInt64?
    var data: String?
    var session: String?

    static func message(_ seq: UInt64, _ data: String) -> ChannelFrame { ChannelFrame(type: "message", seq: seq, data: data) }
    static func error(_ code: Int, _ description: String) -> ChannelFrame {
        ChannelFrame(type: "error", code: code, description: description)
    }
}

/// A channel client over the WebSocket transport.
final class ChannelSocket: Sendable {
    let client: WebSocketTestClient

    init(port: Int, timeoutMilliseconds: Int = 5_000, headers: [String] = []) throws {
        client = try WebSocketTestClient(port: port, path: "/_ah/channel/ws", headers: headers,
                                         timeoutMilliseconds: timeoutMilliseconds)
    }

    func open(token: String, session: String = "", seq: UInt64 = 0) {
        client.sendText("{\"type\":\"open\",\"token\":\"\(token)\",\"session\":\"\(session)\",\"seq\":\(seq)}")
    }

    /// Opens and returns the `opened` frame (failing on anything else).
    func opened(token: String, session: String = "", seq: UInt64 = 0) async throws -> ChannelFrame {
        open(token: token, session: session, seq: seq)
        let frame = try await next()
        guard frame.type == "opened", frame.session?.isEmpty == false else { throw Unexpected(frame: frame) }
        return frame
    }

    /// What the JavaScript client's `close()` does: says so, then closes the WebSocket.
    func closeLikeTheJavaScriptClient() {
        client.sendText("{\"type\":\"close\"}")
        client.sendClose(code: 1000)
    }

    /// The next channel frame, skipping pings and pongs.
    func next() async throws -> ChannelFrame {
        while true {
            let frame = try await client.readFrame()
            if let close = frame.close { return ChannelFrame(type: "close", code: close.code.map(Int.init)) }
            if frame.opcode == WebSocketOpcode.text.rawValue {
                return try JSONDecoder().decode(ChannelFrame.self, from: Data(frame.payload))
            }
        }
    }

    func next(_ count: Int) async throws -> [ChannelFrame] {
        var frames: [ChannelFrame] = []
        for _ in 0..<count { frames.append(try await next()) }
        return frames
    }

    /// True if no data frame arrives within `milliseconds`.
    func isSilent(milliseconds: Int = 400) async -> Bool {
        client.setTimeout(milliseconds: milliseconds)
        defer { client.setTimeout(milliseconds: 5_000) }
        do {
            _ = try await next()
            return false
        } catch {
            return true
        }
    }
}

struct Unexpected: Error, CustomStringConvertible {
    let frame: ChannelFrame
    var description: String { "unexpected frame \(frame)" }
}

/// A token with one character in its MAC region changed.
func tampered(_ token: String) -> String {
    var characters = Array(token)
    let index = characters.count - 10
    characters[index] = characters[index] == "A" ? "B" : "A"
    return String(characters)
}
