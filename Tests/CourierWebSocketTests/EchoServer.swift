import Courier
import CourierLoop
import Dispatch
import Synchronization

/// Values recorded on the server's loop and awaited by a test thread, with a deadline.
final class Recorded<Value: Sendable>: Sendable {
    private let values = Locked<[Value]>([])
    private let arrived = DispatchSemaphore(value: 0)

    func record(_ value: Value) {
        values.withLock { $0.append(value) }
        arrived.signal()
    }

    var all: [Value] { values.withLock { $0 } }

    /// The `count`-th value (1-based), waiting at most `seconds` for it on a thread of its own,
    /// not one of Swift's cooperative pool.
    func wait(for count: Int = 1, seconds: Double = 5) async -> Value? {
        await withCheckedContinuation { continuation in
            DispatchQueue(label: "courier.recorded-wait").async {
                continuation.resume(returning: self.waitBlocking(for: count, seconds: seconds))
            }
        }
    }

    private func waitBlocking(for count: Int, seconds: Double) -> Value? {
        let deadline = DispatchTime.now() + seconds
        while true {
            if let value = values.withLock({ $0.count >= count ? $0[count - 1] : nil }) { return value }
            if arrived.wait(timeout: deadline) == .timedOut {
                return values.withLock { $0.count >= count ? $0[count - 1] : nil }
            }
        }
    }
}

struct CloseEvent: Sendable, Equatable {
    var code: UInt16
    var reason: String
}

/// An app with an echo WebSocket at /ws that records what the server side saw. A text message
/// `close <code> <reason>` makes the server start the closing handshake itself.
final class EchoServer: Sendable {
    let app = Application()
    let sockets = Recorded<WebSocket>()
    let closes = Recorded<CloseEvent>()
    let pongs = Recorded<[UInt8]>()
    let texts = Recorded<String>()

    init(configuration: WebSocketConfiguration = WebSocketConfiguration(), middleware: [any RequestStage] = [],
         shouldUpgrade: (@Sendable (Request, [String]) throws -> WebSocketAcceptance)? = nil) {
        for item in middleware { app.use(item) }
        app.webSocket("/ws", configuration: configuration, shouldUpgrade: shouldUpgrade) { [self] _, socket in
            sockets.record(socket)
            socket.onText = { [self] socket, text in
                texts.record(text)
                if text.hasPrefix("close ") {
                    let parts = text.split(separator: " ", maxSplits: 2)
                    socket.close(code: UInt16(parts[1]) ?? 1000, reason: parts.count > 2 ? String(parts[2]) : "")
                } else {
                    socket.send(text)
                }
            }
            socket.onBinary = { socket, bytes in socket.send(binary: bytes) }
            socket.onPong = { [self] _, payload in pongs.record(payload) }
            socket.onClose = { [self] _, code, reason in closes.record(CloseEvent(code: code, reason: reason)) }
        }
    }
}

extension ServerConfiguration {
    /// One loop on a free loopback port. The loop's deadline sweep runs every quarter of the
    /// shorter HTTP timeout, so `headerTimeoutMilliseconds` also sets how promptly WebSocket
    /// ping and pong deadlines are noticed.
    static func webSocketTests(headerTimeoutMilliseconds: UInt64 = 2_000,
                               shutdownDeadlineMilliseconds: UInt64 = 3_000) -> ServerConfiguration {
        ServerConfiguration(host: "127.0.0.1", port: 0, workers: 1, headerTimeoutMilliseconds: headerTimeoutMilliseconds,
                            idleTimeoutMilliseconds: 10_000, shutdownDeadlineMilliseconds: shutdownDeadlineMilliseconds,
                            handlesSignals: false)
    }
}

/// Starts `app`, runs `body` with the server, then shuts it down and waits for it.
func withServer(_ app: Application, configuration: ServerConfiguration = .webSocketTests(),
                _ body: (HTTPServer) async throws -> Void) async throws {
    let server = try app.start(configuration: configuration)
    defer {
        server.shutdown()
        server.waitUntilStopped()
    }
    try await body(server)
}

/// Runs `work` on a thread of its own and waits for it at most `seconds`; false if it did not return.
func completes(within seconds: Double, _ work: @escaping @Sendable () -> Void) async -> Bool {
    let done = Recorded<Bool>()
    DispatchQueue(label: "courier.completes").async {
        work()
        done.record(true)
    }
    return await done.wait(seconds: seconds) != nil
}

/// Milliseconds from `start` to `end`.
func milliseconds(from start: ContinuousClock.Instant, to end: ContinuousClock.Instant = .now) -> Int {
    let elapsed = end - start
    return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
}
