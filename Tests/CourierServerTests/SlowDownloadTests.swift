import CourierServer
import CourierTesting
import Glibc
import Testing

extension HTTPServerTests {
    @Suite struct SlowDownloadTests {
        /// The idle timeout must not cut off a large response that a slow client is still
        /// reading: only a client that stops reading altogether is idle.
        @Test func responseReadSlowlyOutlivesTheIdleTimeout() async throws {
            let configuration = ServerConfiguration.forTests(headerTimeoutMilliseconds: 5_000, idleTimeoutMilliseconds: 300)
            try await withServer(configuration: configuration) { server in
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                defer { close(fd) }
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = UInt16(server.port).bigEndian
                inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                #expect(connected == 0)
                var timeout = timeval(tv_sec: 5, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                let request = Array("GET /big/32768 HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
                _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
                var total = 0
                var buffer = [UInt8](repeating: 0, count: 1024 * 1024)
                let expected = 32768 * 1024
                let started = ContinuousClock.now
                while total < expected + 60 {
                    let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    if count <= 0 { break }
                    total += count
                    usleep(25_000)
                }
                let elapsed = ContinuousClock.now - started
                #expect(elapsed > .milliseconds(300), "the download must take longer than the idle timeout to prove anything")
                #expect(total >= expected, "received \(total) bytes of a \(expected)-byte body before the server closed")
            }
        }
    }
}
