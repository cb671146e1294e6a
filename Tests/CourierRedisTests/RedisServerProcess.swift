import Foundation
import Glibc

/// A real `redis-server` for one test: its own free port, its own temporary data directory, no
/// persistence, started as a child process and waited for with `PING`. Kill it (`kill()`) and
/// start it again on the same port (`restart()`) to test reconnection; `stop()` removes it and
/// its directory. Written for these tests and for those of the Redis channel engine.
final class RedisServerProcess: @unchecked Sendable {
    private static let launching = DispatchQueue(label: "courier.redis-test.launch")
    // @unchecked Sendable: tests drive one instance from one task at a time; `process` is only
    // replaced in restart(), never concurrently with another call.
    let port: Int
    let directory: URL
    private let extraArguments: [String]
    private var process: Process?

    struct StartFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// `extraArguments` go to redis-server after the defaults (`["--requirepass", "secret"]`).
    static func start(extraArguments: [String] = []) async throws -> RedisServerProcess {
        var lastError: (any Error)?
        for _ in 0..<5 {
            let server = RedisServerProcess(port: try freePort(), extraArguments: extraArguments)
            do {
                try await server.launch()
                return server
            } catch {
                // Another process may have taken the port between probing and binding: retry.
                lastError = error
                server.stop()
            }
        }
        throw lastError ?? StartFailure(description: "redis-server did not start")
    }

    private init(port: Int, extraArguments: [String]) {
        self.port = port
        self.extraArguments = extraArguments
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("courier-redis-\(port)-\(UUID().uuidString)")
    }

    deinit {
        if let process, process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    }

    var url: String { "redis://127.0.0.1:\(port)" }

    /// Kills the server at once (SIGKILL, no shutdown), like a crash.
    func kill() {
        guard let process else { return }
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        self.process = nil
    }

    /// Freezes the server (SIGSTOP): its sockets stay open and nothing answers, as when a
    /// network partition leaves a connection up with nobody behind it.
    func pause() {
        if let process { Glibc.kill(process.processIdentifier, SIGSTOP) }
    }

    func resume() {
        if let process { Glibc.kill(process.processIdentifier, SIGCONT) }
    }

    /// Starts it again on the same port and directory.
    func restart() async throws {
        kill()
        try await launch()
    }

    /// Kills the server and removes its directory.
    func stop() {
        kill()
        try? FileManager.default.removeItem(at: directory)
    }

    private func launch() async throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        process.arguments = ["--port", String(port), "--dir", directory.path, "--save", "", "--appendonly", "no",
                             "--daemonize", "no", "--bind", "127.0.0.1", "--enable-debug-command", "yes",
                             "--logfile", directory.appendingPathComponent("redis.log").path] + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        // One launch at a time, on a queue of its own: Foundation's Process.run crashed (SIGSEGV
        // in memcpy inside run()) when parallel suites started their redis-servers together, and
        // a lock taken on Swift's cooperative pool starved the other suites' tasks meanwhile.
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Self.launching.async { continuation.resume(with: Result { try process.run() }) }
        }
        self.process = process
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if !process.isRunning {
                let log = (try? String(contentsOf: directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? ""
                throw StartFailure(description: "redis-server exited on port \(port): \(log.suffix(500))")
            }
            if Self.answersPing(port: port) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw StartFailure(description: "redis-server on port \(port) did not answer PING within 10 s")
    }

    /// A blocking PING on a plain socket, independent of the client under test. `-NOAUTH` counts
    /// as alive: the server is up, it just wants a password.
    private static func answersPing(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return false }
        let ping = Array("PING\r\n".utf8)
        guard send(fd, ping, ping.count, Int32(MSG_NOSIGNAL)) == ping.count else { return false }
        var reply = [UInt8](repeating: 0, count: 64)
        let count = recv(fd, &reply, reply.count, 0)
        guard count > 0 else { return false }
        let text = String(decoding: reply[..<count], as: UTF8.self)
        return text.hasPrefix("+PONG") || text.hasPrefix("-NOAUTH")
    }

    /// A port nothing listens on right now (the kernel's choice, released at once).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StartFailure(description: "socket failed") }
        defer { close(fd) }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw StartFailure(description: "bind failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}
