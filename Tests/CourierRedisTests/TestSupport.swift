import CourierLoop
import CourierRedis
import Synchronization
import Testing

/// Runs `body` with a running loop and a fresh redis-server; both are stopped afterwards,
/// whatever the body did.
func withRedis(extraArguments: [String] = [], _ body: (RedisServerProcess, EventLoop) async throws -> Void) async throws {
    let server = try await RedisServerProcess.start(extraArguments: extraArguments)
    defer { server.stop() }
    try await withLoop { loop in try await body(server, loop) }
}

/// Runs `body` with a loop on its own thread; stopping it also closes every connection on it.
func withLoop(_ body: (EventLoop) async throws -> Void) async rethrows {
    let loop = EventLoop(name: "redis-test")
    loop.startThread()
    defer {
        loop.stop()
        loop.waitUntilStopped()
    }
    try await body(loop)
}

extension EventLoop {
    /// Runs `work` on the loop and waits until it has run.
    func run(_ work: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if !execute({ work(); continuation.resume() }) { continuation.resume() }
        }
    }
}

/// Values appended from any thread (a loop's callbacks), read by the test.
final class Recorder<Element: Sendable>: Sendable {
    private let elements = Locked<[Element]>([])

    func append(_ element: Element) { elements.withLock { $0.append(element) } }
    var all: [Element] { elements.withLock { $0 } }
    var count: Int { elements.withLock { $0.count } }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
func eventually(within timeout: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return await condition()
}

extension RedisConnection {
    /// Sends until a command succeeds (after a reconnect), returning its reply, or nil.
    func sendWhenBack(_ arguments: String..., within timeout: Duration = .seconds(10)) async -> RESPValue? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let reply = try? await send(arguments, timeout: nil) { return reply }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// The RedisError `body` throws, nil when it succeeds.
func redisError(_ body: () async throws -> Void) async -> RedisError? {
    do {
        try await body()
        return nil
    } catch let error as RedisError {
        return error
    } catch {
        Issue.record("not a RedisError: \(error)")
        return nil
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
