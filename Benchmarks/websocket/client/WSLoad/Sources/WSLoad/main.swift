// WSLoad: the load client of Benchmarks/websocket/run.sh.
//
//   WSLoad probe   --port P [--host 127.0.0.1] [--path /]
//       one handshake and one echoed text message; exit 0 when both work
//   WSLoad idle    --port P --server-pid PID [--connections 10000]
//                  [--sources 127.0.0.2,127.0.0.3] [--settle 3] [--window 64] [--timeout 120] [--hold 0]
//       reads the server's VmRSS, opens the connections (handshake completed,
//       at most --window handshakes in flight), holds them idle for --settle
//       seconds, reads VmRSS again, closes them
//   WSLoad latency --port P [--connections 100] [--size 32] [--warmup 2] [--duration 10]
//                  [--round-trips 0] [--rate 0] [--server-pid PID]
//       every connection sends a --size byte text message and waits for its echo.
//       --rate 0: closed loop, each connection sends its next message as soon as the
//       echo is back. --rate R: R messages/s in all, each connection on a fixed
//       schedule, latency counted from the scheduled send time (no coordinated
//       omission). Echoes of messages sent during --warmup are not recorded; the run
//       ends after --duration seconds or --round-trips recorded echoes (0: no limit).
//
// Output: `key=value` lines on stdout (sizes in bytes, times in microseconds);
// errors on stderr with a non-zero exit. One thread: poll(2) for the handshakes of
// `idle`, epoll(7) for `latency`.
import CEpoll
import Histogram

#if canImport(Glibc)
import Glibc
#endif


// MARK: - handshake on a blocking socket

/// Sends the upgrade request and reads the response head (blocking, `timeout` seconds).
/// Returns any bytes that came after the head.
func blockingHandshake(_ fd: Int32, request: [UInt8], timeout: Int) throws -> [UInt8] {
    var tv = timeval(tv_sec: timeout, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    try writeAll(fd, request)
    var received: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { throw Failure.errno("handshake read") }
        if n == 0 { throw Failure("server closed during the handshake") }
        received.append(contentsOf: chunk[0..<n])
        if let end = Handshake.headEnd(received) {
            try Handshake.check(head: Array(received[0..<end]))
            var none = timeval()
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, socklen_t(MemoryLayout<timeval>.size))
            return Array(received[end...])
        }
        if received.count > 16384 { throw Failure("handshake response head too long") }
    }
}

// MARK: - probe

func probe(_ options: Options) throws {
    let host = options.string("host", "127.0.0.1")
    let port = try options.int("port", 8080)
    let fd = try connectTCP(to: ipv4Address(host, port: port), from: nil)
    defer { close(fd) }
    var pending = try blockingHandshake(fd, request: Handshake.request(host: host, port: port, path: options.string("path", "/")), timeout: 2)
    let payload = Array("probe".utf8)
    try writeAll(fd, Frame.masked(opcode: 1, payload: payload, mask: (1, 2, 3, 4)))
    var chunk = [UInt8](repeating: 0, count: 4096)
    var tv = timeval(tv_sec: 2, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    for _ in 0..<100 {
        let frame = try pending.withUnsafeBufferPointer { try Frame.parse($0, from: 0, count: $0.count) }
        if let frame {
            guard frame.opcode == 1, Array(pending[frame.payloadStart..<frame.end]) == payload else {
                throw Failure("probe: unexpected frame (opcode \(frame.opcode))")
            }
            emit("probe", "ok")
            return
        }
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { throw n == 0 ? Failure("probe: server closed") : Failure.errno("probe read") }
        pending.append(contentsOf: chunk[0..<n])
    }
    throw Failure("probe: no echo")
}

// MARK: - idle connections

func idle(_ options: Options) throws {
    let host = options.string("host", "127.0.0.1")
    let port = try options.int("port", 8080)
    let count = try options.int("connections", 10_000)
    let window = max(1, try options.int("window", 64))
    let settle = try options.double("settle", 3)
    let hold = try options.double("hold", 0)
    let timeout = try options.double("timeout", 120)
    guard let pidValue = Int32(options.string("server-pid", "")) else { throw Failure("idle needs --server-pid") }
    let sources = try options.string("sources", "").split(separator: ",").map { try ipv4Address(String($0), port: 0) }
    let destination = try ipv4Address(host, port: port)
    let request = Handshake.request(host: host, port: port, path: options.string("path", "/"))

    let limit = raiseOpenFilesLimit(to: count + 256)
    guard limit >= count + 16 else { throw Failure("open files limit is \(limit); \(count) connections need more (ulimit -n)") }

    let before = try residentBytes(pid: pidValue)
    let started = nowNanoseconds()
    let deadline = started + UInt64(timeout * 1e9)

    var established: [Int32] = []
    established.reserveCapacity(count)
    var pending: [Int32: [UInt8]] = [:]
    var chunk = [UInt8](repeating: 0, count: 4096)

    // Waits up to 1 s for handshake answers and moves finished ones to `established`.
    func drain() throws {
        var fds = pending.keys.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let ready = poll(&fds, nfds_t(fds.count), 1000)
        if ready < 0 && errno != EINTR { throw Failure.errno("poll") }
        for p in fds where p.revents != 0 {
            let n = chunk.withUnsafeMutableBytes { read(p.fd, $0.baseAddress!, $0.count) }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            if n < 0 { throw Failure.errno("handshake read") }
            if n == 0 { throw Failure("server closed a connection during its handshake (\(established.count) open)") }
            var received = pending[p.fd]!
            received.append(contentsOf: chunk[0..<n])
            if let end = Handshake.headEnd(received) {
                try Handshake.check(head: Array(received[0..<end]))
                pending[p.fd] = nil
                established.append(p.fd)
            } else {
                pending[p.fd] = received
            }
        }
        if nowNanoseconds() > deadline {
            throw Failure("timed out after \(timeout) s with \(established.count) connections open, \(pending.count) handshakes unanswered")
        }
    }

    for i in 0..<count {
        let fd: Int32
        do {
            fd = try connectTCP(to: destination, from: sources.isEmpty ? nil : sources[i % sources.count])
        } catch {
            throw Failure("connection \(i + 1): \(error)")
        }
        try writeAll(fd, request)
        setNonBlocking(fd)
        pending[fd] = []
        while pending.count >= window { try drain() }
    }
    while !pending.isEmpty { try drain() }
    let opened = nowNanoseconds()

    sleepSeconds(settle)
    let after = try residentBytes(pid: pidValue)

    // Did the server close (or send anything on) any connection while they sat idle?
    var all = established.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    let stirred = poll(&all, nfds_t(all.count), 0)

    emit("connections", established.count)
    emit("open_seconds", fixed(Double(opened - started) / 1e9, 2))
    emit("rss_before", before)
    emit("rss_after", after)
    emit("bytes_per_connection", (after - before) / max(1, established.count))
    emit("stirred_while_idle", max(0, Int(stirred)))
    sleepSeconds(hold)
    for fd in established { close(fd) }
}

// MARK: - echo latency

struct Connection {
    var fd: Int32
    var buffer: UnsafeMutablePointer<UInt8>
    var count = 0
    var frame: [UInt8]
    var pong: (UInt8, UInt8, UInt8, UInt8)
    var outstanding = false
    var sentAt: UInt64 = 0      // when the message in flight was written
    var intendedAt: UInt64 = 0  // when it was due (paced mode); == sentAt in a closed loop
    var nextDue: UInt64 = 0     // paced mode
}

func latency(_ options: Options) throws {
    let bufferCapacity = 1 << 16
    let host = options.string("host", "127.0.0.1")
    let port = try options.int("port", 8080)
    let count = try options.int("connections", 100)
    let size = try options.int("size", 32)
    let warmup = try options.double("warmup", 2)
    let duration = try options.double("duration", 10)
    let maxRoundTrips = try options.int("round-trips", 0)
    let rate = try options.double("rate", 0)
    let serverPID = Int32(options.string("server-pid", ""))
    guard count >= 1, size >= 1, size < 60_000 else { throw Failure("bad --connections or --size") }
    _ = raiseOpenFilesLimit(to: count + 256)

    let destination = try ipv4Address(host, port: port)
    let request = Handshake.request(host: host, port: port, path: options.string("path", "/"))
    // Printable ASCII, so valid UTF-8 for a text frame.
    let payload = (0..<size).map { UInt8(0x61 + $0 % 26) }

    let epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
    guard epoll >= 0 else { throw Failure.errno("epoll_create1") }
    defer { close(epoll) }

    var connections: [Connection] = []
    defer {
        for c in connections {
            close(c.fd)
            c.buffer.deallocate()
        }
    }
    for i in 0..<count {
        let fd = try connectTCP(to: destination, from: nil)
        let leftover: [UInt8]
        do {
            leftover = try blockingHandshake(fd, request: request, timeout: 5)
        } catch {
            close(fd)
            throw Failure("connection \(i + 1): \(error)")
        }
        setNonBlocking(fd)
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: bufferCapacity)
        buffer.update(from: leftover, count: leftover.count)
        let mask = (UInt8(truncatingIfNeeded: i &* 31 &+ 7), UInt8(truncatingIfNeeded: i &* 17 &+ 3), UInt8(0x5A), UInt8(truncatingIfNeeded: i))
        connections.append(Connection(fd: fd, buffer: buffer, count: leftover.count,
                                      frame: Frame.masked(opcode: 1, payload: payload, mask: mask), pong: mask))
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u32 = UInt32(i)
        guard epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0 else { throw Failure.errno("epoll_ctl") }
    }

    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    let start = nowNanoseconds()
    let measureFrom = start + UInt64(warmup * 1e9)
    let end = measureFrom + UInt64(duration * 1e9)
    // Paced mode: each connection sends every `interval` ns, the connections spread evenly.
    let interval: UInt64 = rate > 0 ? UInt64(Double(count) / rate * 1e9) : 0
    var measuring = false
    var cpuAtStart = 0.0, serverTicksAtStart: UInt64 = 0, measuredStart: UInt64 = 0
    var lastEcho = start
    var recorded = 0
    var errorsSeen = 0

    func send(_ i: Int, intended: UInt64, now: UInt64) throws {
        try writeAll(connections[i].fd, connections[i].frame)
        connections[i].outstanding = true
        connections[i].sentAt = now
        connections[i].intendedAt = intended
    }

    for i in 0..<count {
        if interval == 0 {
            let now = nowNanoseconds()
            try send(i, intended: now, now: now)
        } else {
            connections[i].nextDue = start + interval * UInt64(i) / UInt64(count)
        }
    }

    var events = [epoll_event](repeating: epoll_event(), count: 256)
    loop: while true {
        var now = nowNanoseconds()
        if !measuring && now >= measureFrom {
            measuring = true
            measuredStart = now
            cpuAtStart = ownCPUSeconds()
            if let serverPID { serverTicksAtStart = cpuTicks(pid: serverPID) ?? 0 }
        }
        if now >= end || (maxRoundTrips > 0 && recorded >= maxRoundTrips) { break loop }
        if now - lastEcho > 5_000_000_000 { throw Failure("no echo for 5 s (\(recorded) recorded)") }

        if interval > 0 {
            for i in 0..<count where !connections[i].outstanding && connections[i].nextDue <= now {
                let due = connections[i].nextDue
                connections[i].nextDue += interval
                try send(i, intended: due, now: now)
            }
        }
        // Closed loop: block up to 100 ms. Paced: spin, so sends leave on time.
        let ready = epoll_wait(epoll, &events, Int32(events.count), interval > 0 ? 0 : 100)
        if ready < 0 {
            if errno == EINTR { continue }
            throw Failure.errno("epoll_wait")
        }
        for e in 0..<Int(ready) {
            let i = Int(events[e].data.u32)
            while true {
                let n = read(connections[i].fd, connections[i].buffer + connections[i].count, bufferCapacity - connections[i].count)
                if n < 0 {
                    if errno == EAGAIN { break }
                    if errno == EINTR { continue }
                    throw Failure.errno("read")
                }
                if n == 0 { throw Failure("server closed connection \(i + 1)") }
                connections[i].count += n
                now = nowNanoseconds()
                var offset = 0
                while let frame = try Frame.parse(UnsafeBufferPointer(start: connections[i].buffer, count: connections[i].count),
                                                  from: offset, count: connections[i].count) {
                    let body = connections[i].buffer + frame.payloadStart
                    switch frame.opcode {
                    case 1, 2:
                        guard frame.fin, connections[i].outstanding else { throw Failure("unexpected data frame on connection \(i + 1)") }
                        if frame.payloadLength != size || memcmp(body, payload, size) != 0 {
                            errorsSeen += 1
                        }
                        connections[i].outstanding = false
                        lastEcho = now
                        if connections[i].sentAt >= measureFrom && now <= end {
                            _ = histogram.record(now - connections[i].intendedAt)
                            recorded += 1
                        }
                        if interval == 0 { try send(i, intended: now, now: now) }
                    case 9:
                        let ping = Array(UnsafeBufferPointer<UInt8>(start: body, count: frame.payloadLength))
                        try writeAll(connections[i].fd, Frame.masked(opcode: 10, payload: ping, mask: connections[i].pong))
                    case 10:
                        break
                    case 8:
                        throw Failure("server sent a close frame on connection \(i + 1)")
                    default:
                        throw Failure("unexpected opcode \(frame.opcode) on connection \(i + 1)")
                    }
                    offset = frame.end
                }
                if offset > 0 {
                    let remaining = connections[i].count - offset
                    if remaining > 0 { memmove(connections[i].buffer, connections[i].buffer + offset, remaining) }
                    connections[i].count = remaining
                }
                if connections[i].count == bufferCapacity { throw Failure("frame larger than the read buffer") }
            }
        }
    }

    let measuredEnd = nowNanoseconds()
    let seconds = Double(measuredEnd - measuredStart) / 1e9
    let clientCPU = (ownCPUSeconds() - cpuAtStart) / seconds
    let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    func micros(_ nanoseconds: UInt64) -> String { fixed(Double(nanoseconds) / 1000, 1) }
    emit("mode", interval > 0 ? "paced" : "closed")
    emit("connections", count)
    emit("size", size)
    emit("round_trips", histogram.totalCount)
    emit("seconds", fixed(seconds, 2))
    emit("rate", fixed(Double(histogram.totalCount) / seconds, 0))
    emit("p50_us", micros(histogram.valueAtPercentile(50)))
    emit("p90_us", micros(histogram.valueAtPercentile(90)))
    emit("p99_us", micros(histogram.valueAtPercentile(99)))
    emit("p999_us", micros(histogram.valueAtPercentile(99.9)))
    emit("max_us", micros(histogram.max))
    emit("mean_us", fixed(histogram.mean / 1000, 1))
    emit("mismatched_echoes", errorsSeen)
    emit("client_cpu", fixed(clientCPU, 2))
    if let serverPID, let ticks = cpuTicks(pid: serverPID), serverTicksAtStart > 0 || ticks > 0 {
        emit("server_cpu", fixed(Double(ticks - serverTicksAtStart) / ticksPerSecond / seconds, 2))
    }
    if errorsSeen > 0 { throw Failure("\(errorsSeen) echoes did not match what was sent") }
}

// MARK: - main

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    printError("usage: WSLoad probe|idle|latency --port P [options] (see the comment atop main.swift)")
    exit(2)
}
do {
    let options = try Options(arguments.dropFirst(2))
    switch arguments[1] {
    case "probe": try probe(options)
    case "idle": try idle(options)
    case "latency": try latency(options)
    default: throw Failure("unknown mode \(arguments[1])")
    }
} catch {
    printError("WSLoad \(arguments[1]): \(error)")
    exit(1)
}
