import CourierLoop
import Synchronization
import Testing

/// A value handed over once from a loop callback to the awaiting test. Waiting has a deadline,
/// so a callback that never comes fails the test instead of hanging the suite.
final class Delivery<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiter: CheckedContinuation<Value?, Never>?
        var expired = false
    }

    private let state = Locked(State())

    /// The first delivery wins; later ones are ignored.
    func deliver(_ value: Value) {
        let waiter = state.withLock { state -> CheckedContinuation<Value?, Never>? in
            guard state.value == nil, !state.expired else { return nil }
            state.value = value
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: value)
    }

    /// The delivered value, or nil when nothing came within `timeout`.
    func value(within timeout: Duration = .seconds(10)) async -> Value? {
        let deadline = Task { [self] in
            do { try await Task.sleep(for: timeout) } catch { return }
            expire()
        }
        defer { deadline.cancel() }
        return await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Value?? in
                if let value = state.value { return .some(value) }
                if state.expired { return .some(nil) }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private func expire() {
        let waiter = state.withLock { state -> CheckedContinuation<Value?, Never>? in
            guard state.value == nil else { return nil }
            state.expired = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }
}

/// Values appended from any thread, read by the test.
final class Recorder<Element: Sendable>: Sendable {
    private let elements = Locked<[Element]>([])

    func append(_ element: Element) { elements.withLock { $0.append(element) } }
    var all: [Element] { elements.withLock { $0 } }
    var count: Int { elements.withLock { $0.count } }
}

/// Runs `body` with a loop running on its own thread, then stops the loop and waits for it.
/// `run()` refuses to return while a handle is still open, so every test also checks that
/// whatever it opened on the loop was closed.
/// Runs `body` with a loop on its own thread, then stops it and checks that the test closed
/// every handle it opened on it: the loop closes leftovers itself, which would hide a leak.
func withLoop(_ name: String = "test-loop", expectHandlesLeftOpen: Int = 0, _ body: (EventLoop) async throws -> Void,
              sourceLocation: SourceLocation = #_sourceLocation) async rethrows {
    let loop = EventLoop(name: name)
    loop.startThread()
    defer {
        loop.stop()
        loop.waitUntilStopped()
        #expect(loop.handlesLeftOpen == expectHandlesLeftOpen, "handles the test left open on its loop",
                sourceLocation: sourceLocation)
    }
    try await body(loop)
}

/// Runs `work` on the loop thread and awaits what it delivers.
func onLoop<Value: Sendable>(_ loop: EventLoop, within timeout: Duration = .seconds(10),
                             _ work: @escaping @Sendable (Delivery<Value>) -> Void) async -> Value? {
    let delivery = Delivery<Value>()
    let posted = loop.execute { work(delivery) }
    guard posted else { return nil }
    return await delivery.value(within: timeout)
}

/// Sleeps on the test's side, leaving the loop to run.
func pause(milliseconds: Int) async {
    try? await Task.sleep(for: .milliseconds(milliseconds))
}
