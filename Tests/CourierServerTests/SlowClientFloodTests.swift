import CourierLoop
import CourierServer
import CourierTesting
import Dispatch
import Glibc
import Synchronization
import Testing

extension HTTPServerTests {
    /// Slowloris: thousands of connections that send a request's head a byte at a time, or ask
    /// for a response and never read it, while a normal client goes on with its requests. The
    /// slow ones are cut off by the header timeout (408, then close) and the write stall timeout
    /// (a reset once they have taken nothing for a header timeout); the normal client's p99
    /// stays under 100 ms throughout.
    @Suite struct SlowClientFloodTests {
        static let headerTimeoutMilliseconds: UInt64 = 2_000

        @Test func fiveThousandSlowClientsAreCutOffWhileANormalClientIsServed() async throws {
            // Each connection is two descriptors here (both ends are in this process).
            let descriptors = raiseDescriptorLimit()
            let total = min(5_000, (descriptors - 1_000) / 2)
            let slowReaders = total / 5
            let slowHeads = total - slowReaders
            #expect(total == 5_000, "the descriptor limit (\(descriptors)) allows only \(total) slow clients")

            let configuration = ServerConfiguration.forTests(headerTimeoutMilliseconds: Self.headerTimeoutMilliseconds,
                                                             idleTimeoutMilliseconds: 30_000)
            try await withServer(configuration: configuration) { server in
                let normal = NormalClient(port: server.port)
                normal.start()
                let heads = SlowHeadClients(port: server.port, count: slowHeads)
                try await heads.open()
                let readers = try SlowReaders(port: server.port, count: slowReaders)
                let opened = ContinuousClock.now

                // 408 then close at the header timeout; a reset for each reader at the stall timeout.
                let allowance = Duration.milliseconds(Int(Self.headerTimeoutMilliseconds) + 2_000)
                let cutOff = await eventually(seconds: 20) { heads.closedCount == slowHeads && readers.resetCount() == slowReaders }
                let latencies = normal.stop()

                #expect(cutOff, "\(slowHeads - heads.closedCount) slow heads, \(slowReaders - readers.resetCount()) slow readers still open")
                #expect(heads.answered408 == slowHeads, "\(heads.answered408) of \(slowHeads) slow heads got 408")
                #expect(heads.longestLife <= allowance, "a slow head lived \(heads.longestLife)")
                #expect(heads.shortestLife >= .milliseconds(Int(Self.headerTimeoutMilliseconds) - 100),
                        "a slow head was cut off before the header timeout (\(heads.shortestLife))")
                #expect(readers.lastResetAt.map { $0 - opened <= allowance } ?? false,
                        "a slow reader was reset \(readers.lastResetAt.map { $0 - opened } ?? .zero) after the last one connected")

                #expect(latencies.count >= 100, "the normal client made only \(latencies.count) requests")
                let p99 = percentile(latencies, 0.99)
                #expect(p99 < .milliseconds(100), "normal requests' p99 was \(p99) (max \(latencies.max() ?? .zero), \(latencies.count) requests)")
                #expect(normal.failures == 0, "\(normal.failures) normal requests failed")

                heads.close()
                readers.close()
                #expect(await eventually { server.connectionCount <= 1 }, "the server still holds \(server.connectionCount) connections")
            }
        }

        /// A client that asks for a large response and never reads it is reset once it has taken
        /// nothing for a header timeout, even though the idle timeout is far off.
        @Test func aClientThatStopsReadingIsResetAfterTheStallTimeout() async throws {
            let configuration = ServerConfiguration.forTests(headerTimeoutMilliseconds: 500, idleTimeoutMilliseconds: 30_000)
            try await withServer(configuration: configuration) { server in
                let readers = try SlowReaders(port: server.port, count: 1, target: "/big/1024")
                let started = ContinuousClock.now
                #expect(await eventually(seconds: 5) { readers.resetCount() == 1 }, "never reset")
                let elapsed = (readers.lastResetAt ?? started) - started
                #expect(elapsed >= .milliseconds(450) && elapsed < .milliseconds(2_000), "reset after \(elapsed)")
                #expect(await eventually { server.connectionCount == 0 })
            }
        }

        /// A client reading a little at a time, each read well within the stall timeout, gets its
        /// whole response however long it takes in all.
        @Test func aClientReadingSlowlyButSteadilyIsNotCutOff() async throws {
            let configuration = ServerConfiguration.forTests(headerTimeoutMilliseconds: 500, idleTimeoutMilliseconds: 30_000)
            try await withServer(configuration: configuration) { server in
                let fd = try smallWindowSocket(port: server.port)
                defer { close(fd) }
                _ = Array(request("/big/64").utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                var received = 0
                var buffer = [UInt8](repeating: 0, count: 4_096)
                let started = ContinuousClock.now
                while received < 64 * 1024 {
                    try await Task.sleep(for: .milliseconds(200))
                    let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                    if count == 0 || (count < 0 && errno != EAGAIN) { break }
                    received += max(0, count)
                }
                #expect(received >= 64 * 1024, "the server cut the reader off after \(received) bytes")
                #expect(ContinuousClock.now - started > .milliseconds(1_500), "the download was too quick to prove anything")
            }
        }
    }
}

/// Raises this process's soft descriptor limit to its hard limit; returns the limit now.
func raiseDescriptorLimit() -> Int {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1_024 }
    if limit.rlim_cur < limit.rlim_max {
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
    }
    return Int(min(limit.rlim_cur, rlim_t(Int32.max)))
}

/// A blocking socket connected to the loopback `port` with a 4 KiB receive buffer, set before
/// connecting so that the window is small from the start.
func smallWindowSocket(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var size: Int32 = 4_096
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
    let status = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard status == 0 else {
        let code = errno
        close(fd)
        throw HarnessError("connect failed: errno \(code)")
    }
    return fd
}

func percentile(_ values: [Duration], _ fraction: Double) -> Duration {
    guard !values.isEmpty else { return .zero }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}

/// Requests on a kept-alive connection (and every twentieth on a new one) every 5 ms, timed,
/// on a thread of its own, until stopped.
final class NormalClient: Sendable {
    private let port: Int
    private let latencies = Locked<[Duration]>([])
    private let failed = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(port: Int) { self.port = port }

    func start() {
        DispatchQueue.global().async { [self] in
            var client: RawClient?
            var count = 0
            while !stopping.load(ordering: .relaxed) {
                let started = ContinuousClock.now
                do {
                    if client == nil || count % 20 == 0 { client = try RawClient(port: port, timeoutSeconds: 5) }
                    client?.send(request("/hello"))
                    let response = try client?.readResponse()
                    if response?.text == "hello" {
                        let elapsed = ContinuousClock.now - started
                        latencies.withLock { $0.append(elapsed) }
                    } else {
                        failed.wrappingAdd(1, ordering: .relaxed)
                    }
                } catch {
                    failed.wrappingAdd(1, ordering: .relaxed)
                    client = nil
                }
                count += 1
                usleep(5_000)
            }
            finished.signal()
        }
    }

    /// Stops and returns every request's time.
    func stop() -> [Duration] {
        stopping.store(true, ordering: .relaxed)
        finished.wait()
        return latencies.withLock { $0 }
    }

    var failures: Int { failed.load(ordering: .relaxed) }
}

/// Connections on a loop of their own that send a request's head one byte at a time, each
/// every 700 ms, until the server answers or closes.
final class SlowHeadClients: @unchecked Sendable {
    // @unchecked Sendable: `streams` and `state` are used only on `loop`; the results are behind locks.
    private let port: Int
    private let count: Int
    private let loop = EventLoop(name: "slow-heads")
    private var streams: [TCPStream] = []
    private var sentBytes: [Int] = []
    private var timer: Timer?
    private let results = Locked(Results())
    private static let head = Array("GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\n\r\n".utf8)

    private struct Results {
        var connectedAt: [ContinuousClock.Instant?] = []
        var lives: [Duration] = []
        var answered408 = 0
    }

    init(port: Int, count: Int) {
        self.port = port
        self.count = count
        results.withLock { $0.connectedAt = Array(repeating: nil, count: count) }
        loop.startThread()
    }

    /// Connects them all, 250 at a time so the listener's backlog never overflows; each sends
    /// its first byte at once.
    func open() async throws {
        for start in stride(from: 0, to: count, by: 250) {
            let end = min(count, start + 250)
            let connected = Locked(0)
            loop.execute { [self] in
                for _ in start..<end { connect(counting: connected) }
            }
            guard await eventually(seconds: 10, { connected.withLock { $0 } == end - start }) else {
                throw HarnessError("only \(connected.withLock { $0 }) of \(end - start) slow heads connected")
            }
        }
        loop.execute { [self] in
            let timer = Timer(loop: loop)
            var tick = 0
            timer.start(after: 100, repeating: 100) { [self] in
                tick += 1
                for index in stride(from: tick % 7, to: streams.count, by: 7) { sendNextByte(index) }
            }
            self.timer = timer
        }
    }

    private func connect(counting connected: Locked<Int>) {
        TCPStream.connect(loop: loop, host: "127.0.0.1", port: port) { [self] result in
            connected.withLock { $0 += 1 }
            guard case .success(let stream) = result else { return }
            streams.append(stream)
            sentBytes.append(0)
            let slot = streams.count - 1
            results.withLock { $0.connectedAt[slot] = .now }
            var received: [UInt8] = []
            stream.onRead = { bytes in received += bytes }
            stream.onEnd = { [self] _ in
                let text = String(decoding: received, as: UTF8.self)
                results.withLock { results in
                    if let since = results.connectedAt[slot] { results.lives.append(.now - since) }
                    if text.hasPrefix("HTTP/1.1 408") { results.answered408 += 1 }
                }
                stream.close()
            }
            stream.startReading()
            sendNextByte(slot)
        }
    }

    private func sendNextByte(_ index: Int) {
        let stream = streams[index]
        guard !stream.isClosed, sentBytes[index] < Self.head.count - 1 else { return }
        stream.write([Self.head[sentBytes[index]]])
        sentBytes[index] += 1
    }

    var closedCount: Int { results.withLock { $0.lives.count } }
    var answered408: Int { results.withLock { $0.answered408 } }
    var longestLife: Duration { results.withLock { $0.lives.max() ?? .zero } }
    var shortestLife: Duration { results.withLock { $0.lives.min() ?? .zero } }

    func close() {
        loop.execute { [self] in
            timer?.close()
            for stream in streams { stream.close() }
            streams = []
        }
        loop.stop()
        loop.waitUntilStopped()
    }
}

/// Blocking sockets with a 4 KiB receive buffer that each ask for a large response and never
/// read a byte of it.
final class SlowReaders: @unchecked Sendable {
    // @unchecked Sendable: used by one test at a time.
    private var sockets: [Int32] = []
    private var resetAt: [ContinuousClock.Instant?] = []

    init(port: Int, count: Int, target: String = "/big/64") throws {
        let request = Array("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        for _ in 0..<count {
            let fd = try smallWindowSocket(port: port)
            _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            sockets.append(fd)
        }
        resetAt = Array(repeating: nil, count: count)
    }

    /// How many the server has reset (or closed) so far, noting when each was first seen so.
    func resetCount() -> Int {
        var descriptors = sockets.map { pollfd(fd: $0, events: 0, revents: 0) }
        _ = poll(&descriptors, nfds_t(descriptors.count), 0)
        let now = ContinuousClock.now
        for (index, descriptor) in descriptors.enumerated()
        where resetAt[index] == nil && descriptor.revents & Int16(POLLHUP | POLLERR) != 0 {
            resetAt[index] = now
        }
        return resetAt.filter { $0 != nil }.count
    }

    var lastResetAt: ContinuousClock.Instant? { resetAt.compactMap { $0 }.max() }

    func close() {
        for fd in sockets { Glibc.close(fd) }
        sockets = []
        resetAt = []
    }
}
