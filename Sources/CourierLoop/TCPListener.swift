import CLibUV
import Glibc

/// A listening socket on its loop. With `reusePort`, every loop of a server opens its own
/// listener on the same port and the kernel spreads connections between them; so may other
/// processes that ask for it too, which is why it is off unless asked for. libuv 1.44 has
/// no flag for SO_REUSEPORT, so the socket is made and bound here.
///
/// It accepts by itself (a `uv_poll_t` on the socket and `accept4`) rather than through
/// `uv_listen`, to decide what happens when a connection cannot be taken:
/// - `admission` refuses one (a server's connection limit) before it becomes a stream: the
///   socket is closed at once, so the kernel's backlog never fills with connections nobody
///   will serve and the loop never wakes again for them;
/// - when the process is out of descriptors (EMFILE, ENFILE) or memory, accepting pauses for
///   `pauseMilliseconds` (or until a socket it accepted closes) instead of retrying at once:
///   libuv's answer, accepting and closing everything waiting, would refuse every client
///   that the descriptors freed a moment later could have served, and says nothing of it.
///   Clients wait in the backlog meanwhile; connections already open are served as before.
package final class TCPListener {
    package unowned let loop: EventLoop
    let handle: UnsafeMutablePointer<uv_poll_t>
    private let fd: Int32
    private var fdClosed = false
    private var onAccept: ((TCPStream) -> Void)?
    private var admission: Admission?
    /// Told why accepting paused (EMFILE, ENFILE, ENOBUFS, ENOMEM, or an error accept should
    /// never give); it resumes by itself.
    package var onPause: ((UVError) -> Void)?
    package private(set) var isClosed = false
    /// Whether accepting is paused for want of descriptors or memory.
    package private(set) var isPaused = false
    private var resumeTimer: Timer?
    package let port: Int

    /// How long accepting pauses when the process is out of descriptors: long enough that a
    /// loop retrying costs nothing (ten failed `accept4` calls a second), short enough that a
    /// client in the backlog hardly notices; a socket this listener accepted closing ends the
    /// pause at once. nginx pauses for 500 ms.
    package static let pauseMilliseconds: UInt64 = 100
    /// At most this many accepts per wake-up, so a flood of connections cannot keep the loop
    /// from the connections it already has (the socket is polled level-triggered: the rest
    /// wake it again in the next iteration).
    static let acceptsPerWakeUp = 128

    /// Asked for each accepted socket before it becomes a stream; `admits` false closes it at
    /// once. Each one admitted is given back through `released` when its stream closes, however
    /// it closes and whoever owns the stream by then (an upgrade hands streams over).
    package struct Admission {
        package var admits: () -> Bool
        package var released: () -> Void

        package init(admits: @escaping () -> Bool, released: @escaping () -> Void) {
            self.admits = admits
            self.released = released
        }
    }

    package init(loop: EventLoop, host: String, port: Int, reusePort: Bool = false, backlog: Int32 = 1024,
                admission: Admission? = nil, onAccept: @escaping (TCPStream) -> Void) throws(UVError) {
        loop.assertInLoop()
        self.loop = loop
        let (fd, boundPort) = try Self.bind(host: host, port: port, reusePort: reusePort)
        self.fd = fd
        self.port = boundPort
        self.admission = admission
        handle = .allocate(capacity: 1)
        let initialised = uv_poll_init(loop.uvLoop, handle, fd)
        guard initialised == 0 else {
            handle.deallocate()
            Glibc.close(fd)
            fdClosed = true
            throw UVError(code: initialised, operation: "poll listener")
        }
        Handle.retain(self, in: handle)
        self.onAccept = onAccept
        do throws(UVError) {
            if Glibc.listen(fd, backlog) != 0 { throw UVError(code: -errno, operation: "listen on \(host):\(port)") }
            try startPolling()
        } catch {
            close()
            throw error
        }
    }

    /// The socket: closed here once libuv has let go of it (the handle's close callback
    /// released this owner), also when the loop closed a listener nobody closed.
    deinit {
        if !fdClosed { Glibc.close(fd) }
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

    private func startPolling() throws(UVError) {
        try UVError.check(uv_poll_start(handle, Int32(UV_READABLE.rawValue)) { handle, status, _ in
            guard let handle, status >= 0 else { return }
            Handle.owner(TCPListener.self, of: handle).acceptWaiting()
        }, "poll listener")
    }

    /// Accepts what is waiting, up to `acceptsPerWakeUp`.
    private func acceptWaiting() {
        for _ in 0..<Self.acceptsPerWakeUp {
            guard !isClosed, !isPaused else { return }
            let client = accept4(fd, nil, nil, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
            guard client >= 0 else {
                let code = errno
                switch code {
                case EAGAIN, EWOULDBLOCK:
                    return
                case EINTR, ECONNABORTED, EPERM, EPROTO, ENOPROTOOPT, ENETDOWN, ENONET, EHOSTDOWN, EHOSTUNREACH,
                     ENETUNREACH, EOPNOTSUPP, ETIMEDOUT:
                    // That connection's trouble (accept(2) says to retry): the next one may be fine.
                    continue
                default:
                    // Out of descriptors or memory, or an error that retrying at once would only repeat.
                    pause(UVError(code: -code, operation: "accept"))
                    return
                }
            }
            admit(client)
        }
    }

    private func admit(_ client: Int32) {
        if let admission, !admission.admits() {
            Glibc.close(client)
            return
        }
        guard let stream = TCPStream(loop: loop, adopting: client) else {
            admission?.released()
            return
        }
        if let released = admission?.released {
            stream.onSocketClosed = { [weak self] in
                released()
                self?.resumeAfterPause()
            }
        } else {
            stream.onSocketClosed = { [weak self] in self?.resumeAfterPause() }
        }
        stream.setNoDelay(true)
        onAccept?(stream)
    }

    /// Stops polling the socket for `pauseMilliseconds`.
    private func pause(_ error: UVError) {
        guard !isClosed, !isPaused else { return }
        isPaused = true
        uv_poll_stop(handle)
        let timer = resumeTimer ?? Timer(loop: loop)
        resumeTimer = timer
        timer.start(after: Self.pauseMilliseconds) { [unowned self] in resumeAfterPause() }
        onPause?(error)
    }

    /// A descriptor may be free again: accept what waits (pausing again if it is not).
    private func resumeAfterPause() {
        guard isPaused, !isClosed else { return }
        isPaused = false
        resumeTimer?.stop()
        do throws(UVError) {
            try startPolling()
        } catch {
            pause(error)
        }
    }

    package func close() {
        guard !isClosed else { return }
        isClosed = true
        onAccept = nil
        admission = nil
        onPause = nil
        resumeTimer?.close()
        resumeTimer = nil
        Handle.close(handle)
        // libuv stopped watching the socket in uv_close (the poll handle never closes it).
        Glibc.close(fd)
        fdClosed = true
    }
}
