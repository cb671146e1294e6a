// Small POSIX socket helpers for the load clients WSLoad and ChannelLoad (one file, linked into
// ChannelLoad): IPv4 loopback only.
#if canImport(Glibc)
import Glibc
#endif

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
    static func errno(_ what: String) -> Failure {
        let code = Glibc.errno
        return Failure("\(what): \(String(cString: strerror(code))) (errno \(code))")
    }
}

/// Monotonic clock in nanoseconds.
@inline(__always)
func nowNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

func sleepSeconds(_ seconds: Double) {
    guard seconds > 0 else { return }
    var ts = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
    var left = timespec()
    while nanosleep(&ts, &left) == -1 && errno == EINTR { ts = left }
}

func ipv4Address(_ text: String, port: Int) throws -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    guard inet_pton(AF_INET, text, &address.sin_addr) == 1 else {
        throw Failure("not an IPv4 address: \(text)")
    }
    return address
}

/// Blocking TCP connect to `destination`, from `source` (port chosen at connect time) when given.
func connectTCP(to destination: sockaddr_in, from source: sockaddr_in?) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw Failure.errno("socket") }
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    if var source {
        // IP_BIND_ADDRESS_NO_PORT (24): pick the source port at connect(), per destination,
        // so each source address has the whole ephemeral range for each server port.
        setsockopt(fd, Int32(IPPROTO_IP), 24, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &source) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if bound != 0 {
            let failure = Failure.errno("bind to source address")
            close(fd)
            throw failure
        }
    }
    var destination = destination
    let connected = withUnsafePointer(to: &destination) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    if connected != 0 {
        let failure = Failure.errno("connect")
        close(fd)
        throw failure
    }
    return fd
}

func setNonBlocking(_ fd: Int32) {
    let flags = fcntl(fd, F_GETFL)
    _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
}

/// Writes all of `bytes` (blocking socket, or a non-blocking one with room: retries EAGAIN
/// for at most `timeout` seconds).
func writeAll(_ fd: Int32, _ bytes: [UInt8], timeout: Double = 5) throws {
    var offset = 0
    let deadline = nowNanoseconds() + UInt64(timeout * 1e9)
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
        if n > 0 {
            offset += n
        } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
            if nowNanoseconds() > deadline { throw Failure("write: timed out") }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&p, 1, 100)
        } else {
            throw Failure.errno("write")
        }
    }
}

/// VmRSS of a process in bytes, from /proc/PID/status.
func residentBytes(pid: Int32) throws -> Int {
    guard let file = fopen("/proc/\(pid)/status", "r") else { throw Failure.errno("open /proc/\(pid)/status") }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 512)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = cString(line)
        if text.hasPrefix("VmRSS:") {
            let digits = text.dropFirst(6).filter { $0.isNumber }
            guard let kib = Int(String(digits)) else { break }
            return kib * 1024
        }
    }
    throw Failure("no VmRSS in /proc/\(pid)/status")
}

/// utime + stime of a process in clock ticks, from /proc/PID/stat.
func cpuTicks(pid: Int32) -> UInt64? {
    guard let file = fopen("/proc/\(pid)/stat", "r") else { return nil }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 4096)
    guard fgets(&line, Int32(line.count), file) != nil else { return nil }
    let text = cString(line)
    // Fields after the ")" that ends the command name; utime and stime are fields 14 and 15.
    guard let close = text.lastIndex(of: ")") else { return nil }
    let fields = text[text.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let utime = UInt64(fields[11]), let stime = UInt64(fields[12]) else { return nil }
    return utime + stime
}

/// This process's user + system CPU time in seconds.
func ownCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

/// Raises the soft open-files limit to `wanted` (or the hard limit); returns the limit in force.
func raiseOpenFilesLimit(to wanted: Int) -> Int {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    if limit.rlim_cur < rlim_t(wanted) {
        limit.rlim_cur = min(rlim_t(wanted), limit.rlim_max)
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
    return Int(limit.rlim_cur)
}

/// The text of a NUL-terminated C buffer.
func cString(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// `x` with `digits` decimals (no Foundation here).
func fixed(_ x: Double, _ digits: Int) -> String {
    guard x.isFinite else { return "\(x)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(x) * scale).rounded()
    let whole = Int(scaled / scale)
    let fraction = Int(scaled - Double(whole) * scale)
    var text = (x < 0 && scaled > 0 ? "-" : "") + String(whole)
    if digits > 0 {
        let f = String(fraction)
        text += "." + String(repeating: "0", count: max(0, digits - f.count)) + f
    }
    return text
}
