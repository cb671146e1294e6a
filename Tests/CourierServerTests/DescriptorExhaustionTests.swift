import CourierLoop
import Foundation
import Glibc
import Testing

extension HTTPServerTests {
    /// A server out of descriptors (EMFILE) with clients still arriving. The Hello example runs
    /// in a child process whose descriptor limit is a few dozen (lowering this process's own
    /// limit would starve every other test), with `--max-connections` far above it so that
    /// accept itself fails.
    @Suite struct DescriptorExhaustionTests {
        @Test func outOfDescriptorsTheServerPausesAcceptingServesWhatItHoldsAndResumes() async throws {
            let child = try ChildServer(descriptorLimit: 48, arguments: ["--max-connections", "1000"])
            defer { child.stop() }
            let port = try await child.port()

            let peers = try (0..<80).map { _ in try Peer(port: port) }
            for peer in peers { peer.send(request("/plaintext")) }
            try await Task.sleep(for: .seconds(1))
            for peer in peers { peer.drain() }
            let answered = peers.filter { $0.responses == 1 }
            let waiting = peers.filter { $0.responses == 0 }
            #expect(answered.count + waiting.count == peers.count)
            #expect(answered.count >= 10 && waiting.count >= 10,
                    "\(answered.count) answered, \(waiting.count) waiting: the limit did not bite where expected")
            #expect(waiting.allSatisfy { !$0.closed }, "a waiting client was turned away instead of waiting")

            // Clients wait in the backlog; the loop does not spin on them.
            let before = try child.cpuTicks()
            try await Task.sleep(for: .seconds(1))
            let used = try child.cpuTicks() - before
            #expect(used <= 10, "the server used \(used) ticks of CPU (of 100) in a second while out of descriptors")

            // The connections it holds are served as before.
            for peer in answered.prefix(5) { peer.send(request("/plaintext")) }
            #expect(await eventually { answered.prefix(5).allSatisfy { $0.drain(); return $0.responses == 2 } },
                    "a connection the server held was not served while it was out of descriptors")

            // Descriptors freed, the waiting clients are accepted and answered; each one answered
            // leaves in turn, so every one of them gets its place whatever the server's own
            // descriptors take.
            for peer in answered { peer.close() }
            #expect(await eventually {
                for peer in waiting where peer.responses == 0 {
                    peer.drain()
                    if peer.responses == 1 { peer.close() }
                }
                return waiting.allSatisfy { $0.responses == 1 }
            }, "\(waiting.filter { $0.responses == 0 }.count) of \(waiting.count) waiting clients were never answered")

            let warnings = child.output.components(separatedBy: "\n").filter { $0.contains("cannot accept connections for now") }
            #expect(!warnings.isEmpty, "no warning said why clients waited")
            #expect(warnings.count <= 6, "\(warnings.count) warnings in a few seconds: not at most one a second")
            #expect(warnings.first?.contains("EMFILE") == true, "\(warnings.first ?? "")")
        }

        /// At the default `maxConnections`, derived from the descriptor limit, the limit is met
        /// before the kernel refuses descriptors: the connection past it is closed at once
        /// rather than left waiting.
        @Test func theDefaultLimitIsMetBeforeDescriptorsRunOut() async throws {
            // 48 descriptors: a reserve of 24 (half), so 24 connections.
            let child = try ChildServer(descriptorLimit: 48, arguments: [])
            defer { child.stop() }
            let port = try await child.port()
            let peers = try (0..<30).map { _ in try Peer(port: port) }
            for peer in peers { peer.send(request("/plaintext")) }
            #expect(await eventually { peers.allSatisfy { $0.drain(); return $0.responses == 1 || $0.closed } })
            #expect(peers.filter { $0.responses == 1 }.count == 24)
            #expect(peers.filter { $0.closed && $0.responses == 0 }.count == 6)
            #expect(!child.output.contains("cannot accept connections for now"), "the descriptors ran out first")
            #expect(child.output.contains("refused connections"))
        }
    }
}

/// Waits (at most `seconds`) until `condition` holds.
func eventually(seconds: Double = 5, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while !condition() {
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return true
}

/// The Hello example in a child process with `ulimit -n descriptorLimit`, on a free loopback port.
final class ChildServer: @unchecked Sendable {
    // @unchecked Sendable: `collected` is behind its lock; the process is started once and
    // stopped once, by the test that made it.
    private let process = Process()
    private let pipe = Pipe()
    private let collected = Locked("")

    /// The Hello binary SwiftPM built beside this test bundle (`swift build` builds it).
    static var helloPath: String {
        let bundle = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("Hello").path
    }

    init(descriptorLimit: Int, arguments: [String]) throws {
        let hello = Self.helloPath
        guard FileManager.default.isExecutableFile(atPath: hello) else {
            throw HarnessError("no Hello binary at \(hello): build the package (swift build) before these tests")
        }
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        let command = "ulimit -n \(descriptorLimit) && exec \"$0\" --host 127.0.0.1 --port 0 --workers 1 \"$@\""
        process.arguments = ["-c", command, hello] + arguments
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [collected] handle in
            let data = handle.availableData
            guard !data.isEmpty else { return }
            collected.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
    }

    /// Everything the server has written to stdout and stderr so far.
    var output: String { collected.withLock { $0 } }

    /// The port from the server's "listening" line.
    func port() async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let range = output.range(of: #"address=127\.0\.0\.1:[0-9]+"#, options: .regularExpression),
               let port = Int(output[range].split(separator: ":").last ?? "") {
                return port
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError("the server did not say where it listens: \(output)")
    }

    /// The CPU time the server has used, in clock ticks (1/100 s): utime + stime of /proc/PID/stat.
    func cpuTicks() throws -> Int {
        let stat = try String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8)
        // After the command name in parentheses: state is field 3, utime 14, stime 15.
        guard let close = stat.lastIndex(of: ")") else { throw HarnessError("unreadable stat: \(stat)") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else {
            throw HarnessError("unreadable stat: \(stat)")
        }
        return user + system
    }

    /// SIGKILL: the child inherits this process's blocked signals (the test runner blocks
    /// SIGTERM in its threads), so a SIGTERM would wait for ever.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        pipe.fileHandleForReading.readabilityHandler = nil
    }
}

/// A client socket the test drives itself: connect (the kernel completes it from the backlog
/// even before the server accepts), send, and see what has arrived without waiting.
final class Peer: @unchecked Sendable {
    // @unchecked Sendable: used by one test at a time.
    private let fd: Int32
    private var received: [UInt8] = []
    private(set) var closed = false

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else {
            let code = errno
            Glibc.close(fd)
            throw HarnessError("connect failed: errno \(code)")
        }
    }

    deinit { Glibc.close(fd) }

    func send(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Takes what has arrived, without waiting; notes the server's close.
    func drain() {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while !closed {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 {
                received += buffer[0..<count]
            } else if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) {
                closed = true
            } else {
                return
            }
        }
    }

    /// The responses received so far (their status lines).
    var responses: Int {
        String(decoding: received, as: UTF8.self).components(separatedBy: "HTTP/1.1 200").count - 1
    }

    /// Shuts the connection down both ways, so the server sees it go.
    func close() { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
