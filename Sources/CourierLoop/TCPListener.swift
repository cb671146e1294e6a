import CLibUV
import Glibc

/// A listening socket on its loop. With `reusePort`, every loop of a server opens its own
/// listener on the same port and the kernel spreads connections between them; so may other
/// processes that ask for it too, which is why it is off unless asked for. libuv 1.44 has
/// no flag for SO_REUSEPORT, so the socket is made and bound here and handed to `uv_tcp_open`.
package final class TCPListener {
    package unowned let loop: EventLoop
    let handle: UnsafeMutablePointer<uv_tcp_t>
    private var onAccept: ((TCPStream) -> Void)?
    package private(set) var isClosed = false
    package let port: Int

    package init(loop: EventLoop, host: String, port: Int, reusePort: Bool = false, backlog: Int32 = 1024,
                onAccept: @escaping (TCPStream) -> Void) throws(UVError) {
        loop.assertInLoop()
        self.loop = loop
        let (fd, boundPort) = try Self.bind(host: host, port: port, reusePort: reusePort)
        self.port = boundPort
        handle = .allocate(capacity: 1)
        uv_tcp_init(loop.uvLoop, handle)
        Handle.retain(self, in: handle)
        self.onAccept = onAccept
        do {
            try UVError.check(uv_tcp_open(handle, uv_os_sock_t(fd)), "open listener")
            let stream = UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self)
            try UVError.check(uv_listen(stream, backlog) { server, status in
                guard let server, status >= 0 else { return }
                Handle.owner(TCPListener.self, of: server).acceptOne()
            }, "listen on \(host):\(port)")
        } catch {
            close()
            throw error
        }
    }

    /// Fails with EADDRINUSE when anything listens on `host:port`, shared or not. A server whose
    /// own workers share the port (SO_REUSEPORT) asks this first, so a second server started on
    /// a busy port is told so instead of silently splitting the first one's connections.
    package static func checkAvailable(host: String, port: Int) throws(UVError) {
        let (fd, _) = try bind(host: host, port: port, reusePort: false)
        Glibc.close(fd)
    }

    /// A socket bound to `host:port` (not yet listening), and the port it got.
    private static func bind(host: String, port: Int, reusePort: Bool) throws(UVError) -> (Int32, Int) {
        var storage = sockaddr_storage()
        try SocketAddress.fill(&storage, host: host, port: port)
        let family = Int32(storage.ss_family)
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw UVError(code: -errno, operation: "socket") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if reusePort {
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        let length = SocketAddress.length(of: storage)
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) }
        }
        if bound != 0 {
            let code = -errno
            Glibc.close(fd)
            throw UVError(code: code, operation: "bind \(host):\(port)")
        }
        var actual = sockaddr_storage()
        var actualLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &actualLength) }
        }
        let boundPort = Int(withUnsafePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        })
        return (fd, boundPort)
    }

    private func acceptOne() {
        let client = TCPStream(loop: loop)
        let server = UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self)
        let clientStream = UnsafeMutableRawPointer(client.handle).assumingMemoryBound(to: uv_stream_t.self)
        if uv_accept(server, clientStream) == 0 {
            client.setNoDelay(true)
            onAccept?(client)
        } else {
            client.close()
        }
    }

    package func close() {
        guard !isClosed else { return }
        isClosed = true
        onAccept = nil
        Handle.close(handle)
    }
}
