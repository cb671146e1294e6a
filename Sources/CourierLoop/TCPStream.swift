import CLibUV
import Glibc

/// One accepted or connected TCP socket on its loop.
///
/// Reads arrive in the loop's shared buffer and must be consumed inside `onRead`. Writes try
/// the socket first (`uv_try_write`, no allocation when the kernel takes everything) and queue
/// only what it refused; `pendingWriteBytes` is that queue, the number a caller watches for
/// backpressure, and `onWritesFlushed` fires when it empties.
package final class TCPStream {
    package unowned let loop: EventLoop
    /// The same loop for libuv's callbacks, which run only inside that loop's `uv_run`, so it
    /// is alive: the checked `unowned` above paid a strong retain and release per use, several
    /// times per read.
    private unowned(unsafe) let runningLoop: EventLoop
    let handle: UnsafeMutablePointer<uv_tcp_t>
    private var streamHandle: UnsafeMutablePointer<uv_stream_t> {
        UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self)
    }

    // @exclusivity(unchecked) on the stored properties: a stream is used only on its loop (every
    // entry point asserts it); read and write paths touch them on every request (callgrind).
    /// Bytes received; valid only during the call.
    @exclusivity(unchecked) package var onRead: ((UnsafeRawBufferPointer) -> Void)?
    /// The peer closed its side (`nil`) or the socket failed. Called at most once.
    @exclusivity(unchecked) package var onEnd: ((UVError?) -> Void)?
    /// The write queue has emptied: everything written has gone to the kernel.
    @exclusivity(unchecked) package var onWritesFlushed: (() -> Void)?
    /// The handle is closed and its callbacks are gone.
    @exclusivity(unchecked) package var onClose: (() -> Void)?
    /// The socket is closed: for the listener that accepted it, which counts its sockets whoever
    /// owns the stream by then (an upgrade hands the stream and `onClose` to another protocol).
    @exclusivity(unchecked) var onSocketClosed: (() -> Void)?

    package var pendingWriteBytes: Int { pending }
    /// What the peer has yet to take of everything written (libuv's queue, and the kernel's
    /// send queue: sent but not acknowledged), and what it has taken in all, which only grows:
    /// what a caller compares over time to tell a peer that reads slowly from one that has
    /// stopped reading. A response the kernel's buffers hold whole (megabytes, on loopback) is
    /// in no queue of ours, so `unsentBytes` alone would call such a peer done. The kernel is
    /// asked only when something was written since its queue was last seen empty, so an idle
    /// connection costs no system call.
    package func delivery() -> (waiting: Int, taken: UInt64) {
        guard !isClosed else { return (0, writtenTotal) }
        var waiting = unsentBytes
        if writtenTotal != writtenWhenDrained {
            var socket = uv_os_fd_t()
            if uv_fileno(Handle.raw(handle), &socket) == 0 { waiting += Int(courier_unacknowledged_bytes(socket)) }
            if waiting == 0 { writtenWhenDrained = writtenTotal }
        }
        return (waiting, writtenTotal &- UInt64(waiting))
    }
    /// Bytes libuv still holds for the socket, shrinking as the kernel takes partial writes:
    /// the measure of whether a slow peer is still reading.
    package var unsentBytes: Int { isClosed ? 0 : Int(uv_stream_get_write_queue_size(streamHandle)) }
    package var isClosed: Bool { closed }
    package var isReading: Bool { reading }
    // The storage of the three above. Read from other modules through the getters: a client
    // module inlining a stored property's access checks it whatever its attribute says.
    @exclusivity(unchecked) private var pending = 0
    /// Every byte given to `write` while open.
    @exclusivity(unchecked) private var writtenTotal: UInt64 = 0
    /// `writtenTotal` when the peer was last seen to have taken everything.
    @exclusivity(unchecked) private var writtenWhenDrained: UInt64 = 0
    @exclusivity(unchecked) private var closed = false
    @exclusivity(unchecked) private var reading = false
    @exclusivity(unchecked) private var endReported = false
    @exclusivity(unchecked) private var closeWhenFlushed = false
    /// Bounds a graceful close: first the flush supervision, then the linger.
    @exclusivity(unchecked) private var closeTimer: Timer?

    init(loop: EventLoop) {
        self.loop = loop
        runningLoop = loop
        handle = .allocate(capacity: 1)
        uv_tcp_init(loop.uvLoop, handle)
        Handle.retain(self, in: handle)
    }

    /// A stream for a socket a listener accepted; nil, with the socket closed, if libuv will not
    /// take it.
    convenience init?(loop: EventLoop, adopting socket: Int32) {
        self.init(loop: loop)
        guard uv_tcp_open(handle, uv_os_sock_t(socket)) == 0 else {
            Glibc.close(socket)
            close()
            return nil
        }
    }

    /// Connects to a loopback or numeric address, for clients and tests.
    package static func connect(loop: EventLoop, host: String, port: Int,
                               _ completion: @escaping (Result<TCPStream, UVError>) -> Void) {
        let stream = TCPStream(loop: loop)
        var storage = sockaddr_storage()
        do {
            try SocketAddress.fill(&storage, host: host, port: port)
        } catch {
            stream.close()
            completion(.failure(error))
            return
        }
        let request = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        let box = Unmanaged.passRetained(ConnectBox(stream: stream, completion: completion))
        request.pointee.data = box.toOpaque()
        let status = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                uv_tcp_connect(request, stream.handle, address) { request, status in
                    guard let request else { return }
                    let box = Unmanaged<ConnectBox>.fromOpaque(request.pointee.data!).takeRetainedValue()
                    request.deallocate()
                    if status < 0 {
                        box.stream.close()
                        box.completion(.failure(UVError(code: status, operation: "connect")))
                    } else {
                        box.completion(.success(box.stream))
                    }
                }
            }
        }
        if status < 0 {
            box.release()
            request.deallocate()
            stream.close()
            completion(.failure(UVError(code: status, operation: "connect")))
        }
    }

    private final class ConnectBox {
        let stream: TCPStream
        let completion: (Result<TCPStream, UVError>) -> Void
        init(stream: TCPStream, completion: @escaping (Result<TCPStream, UVError>) -> Void) {
            self.stream = stream
            self.completion = completion
        }
    }

    // MARK: Options

    package func setNoDelay(_ enabled: Bool) { uv_tcp_nodelay(handle, enabled ? 1 : 0) }

    /// The peer's address as text ("127.0.0.1:53124"), for logs.
    package var remoteAddress: String {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getpeername(handle, $0, &length) }
        }
        return status == 0 ? SocketAddress.describe(storage) : "unknown"
    }

    // MARK: Reading

    package func startReading() {
        guard !isClosed, !isReading else { return }
        reading = true
        uv_read_start(streamHandle, { handle, _, buffer in
            guard let handle, let buffer else { return }
            let loop = Handle.owner(TCPStream.self, of: handle).runningLoop
            if loop.readBufferInUse {
                // A read inside a read callback (never expected): give it its own memory.
                let memory = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 16)
                buffer.pointee = uv_buf_init(memory.assumingMemoryBound(to: CChar.self), 4096)
                return
            }
            loop.readBufferInUse = true
            loop.busyPoll?.noteActivity()
            let shared = loop.readBuffer
            buffer.pointee = uv_buf_init(shared.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(shared.count))
        }, { handle, count, buffer in
            guard let handle, let buffer else { return }
            let stream = Handle.owner(TCPStream.self, of: handle)
            let loop = stream.runningLoop
            let isShared = buffer.pointee.base == UnsafeMutableRawPointer(loop.readBuffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            defer {
                if isShared { loop.readBufferInUse = false } else { buffer.pointee.base?.deallocate() }
            }
            if count > 0 {
                stream.onRead?(UnsafeRawBufferPointer(start: buffer.pointee.base, count: count))
            } else if count < 0 {
                stream.reportEnd(count == Int(UV_EOF.rawValue) ? nil : UVError(code: Int32(count), operation: "read"))
            }
        })
    }

    package func stopReading() {
        guard !isClosed, isReading else { return }
        reading = false
        uv_read_stop(streamHandle)
    }

    private func reportEnd(_ error: UVError?) {
        stopReading()
        guard !endReported else { return }
        endReported = true
        onEnd?(error)
    }

    // MARK: Writing

    /// Sends `bytes`, queueing what the socket cannot take now.
    package func write(_ bytes: UnsafeRawBufferPointer) {
        guard !isClosed, !closeWhenFlushed, bytes.count > 0 else { return }
        writtenTotal &+= UInt64(bytes.count)
        var offset = 0
        if pendingWriteBytes == 0 {
            var buffer = uv_buf_init(UnsafeMutablePointer(mutating: bytes.baseAddress!.assumingMemoryBound(to: CChar.self)),
                                     UInt32(bytes.count))
            let written = uv_try_write(streamHandle, &buffer, 1)
            if written == Int32(bytes.count) { return }
            if written > 0 {
                offset = Int(written)
            } else if written != Int32(UV_EAGAIN.rawValue) && written != Int32(UV_ENOSYS.rawValue) {
                fail(UVError(code: written, operation: "write"))
                return
            }
        }
        queueWrite(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
    }

    package func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    private func queueWrite(_ bytes: UnsafeRawBufferPointer) {
        let copy = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 1)
        copy.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        let request = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
        request.pointee.data = Unmanaged.passRetained(WriteBox(stream: self, memory: copy, count: bytes.count)).toOpaque()
        var buffer = uv_buf_init(copy.assumingMemoryBound(to: CChar.self), UInt32(bytes.count))
        pending += bytes.count
        let status = uv_write(request, streamHandle, &buffer, 1) { request, status in
            guard let request else { return }
            let box = Unmanaged<WriteBox>.fromOpaque(request.pointee.data!).takeRetainedValue()
            request.deallocate()
            box.memory.deallocate()
            box.stream.writeCompleted(count: box.count, status: status)
        }
        if status < 0 {
            Unmanaged<WriteBox>.fromOpaque(request.pointee.data!).release()
            request.deallocate()
            copy.deallocate()
            pending -= bytes.count
            fail(UVError(code: status, operation: "write"))
        }
    }

    private final class WriteBox {
        let stream: TCPStream
        let memory: UnsafeMutableRawPointer
        let count: Int
        init(stream: TCPStream, memory: UnsafeMutableRawPointer, count: Int) {
            self.stream = stream
            self.memory = memory
            self.count = count
        }
    }

    private func writeCompleted(count: Int, status: Int32) {
        pending -= count
        if status < 0 {
            if !isClosed { fail(UVError(code: status, operation: "write")) }
            return
        }
        if pendingWriteBytes == 0 {
            if closeWhenFlushed { finishGracefulClose() } else { onWritesFlushed?() }
        }
    }

    private func fail(_ error: UVError) {
        reportEnd(error)
        close()
    }

    // MARK: Closing

    /// Closes at once; queued writes are cancelled.
    package func close() {
        guard !isClosed else { return }
        closed = true
        reading = false
        closeTimer?.close()
        closeTimer = nil
        let whenClosed = onClose
        let socketClosed = onSocketClosed
        onRead = nil
        onEnd = nil
        onWritesFlushed = nil
        onClose = nil
        onSocketClosed = nil
        // uv_close closes the socket itself at once; only the handle's memory waits for its callback.
        Handle.close(handle)
        socketClosed?()
        whenClosed?()
    }

    /// Closes with a reset (SO_LINGER 0): the kernel drops at once what is still queued for the
    /// peer, instead of keeping it, orphaned, for a peer that takes nothing. For a peer given up on.
    package func closeAbortively() {
        guard !isClosed else { return }
        var socket = uv_os_fd_t()
        if uv_fileno(Handle.raw(handle), &socket) == 0 {
            var noLinger = linger(l_onoff: 1, l_linger: 0)
            setsockopt(socket, SOL_SOCKET, SO_LINGER, &noLinger, socklen_t(MemoryLayout<linger>.size))
        }
        close()
    }

    /// Sends what is queued, then half-closes and discards what the peer still sends for up to
    /// `lingerMilliseconds` before closing. Closing with unread input makes the kernel answer with
    /// a reset that can destroy a response the peer has not read yet (an error page for a body
    /// that is still arriving), so the last response is always given the chance to arrive.
    ///
    /// The chance is bounded: a peer that takes none of what is queued for
    /// `stallTimeoutMilliseconds` is cut off with a reset, however much is left. Without it a
    /// peer that stops reading holds the socket and its queue for ever, since nothing else
    /// supervises a stream that is closing. A peer still reading, however slowly, gets another
    /// period.
    package func closeGracefully(lingerMilliseconds: UInt64 = 2_000, stallTimeoutMilliseconds: UInt64 = 10_000) {
        guard !isClosed, !closeWhenFlushed else { return }
        closeWhenFlushed = true
        self.lingerMilliseconds = lingerMilliseconds
        if pendingWriteBytes == 0 {
            finishGracefulClose()
        } else {
            superviseFlush(every: max(1, stallTimeoutMilliseconds))
        }
    }

    @exclusivity(unchecked) private var lingerMilliseconds: UInt64 = 2_000

    private func superviseFlush(every period: UInt64) {
        var unsentAtLastCheck = unsentBytes
        let timer = Timer(loop: loop)
        closeTimer = timer
        timer.start(after: period, repeating: period) { [unowned self] in
            let unsent = unsentBytes
            if unsent >= unsentAtLastCheck { closeAbortively() } else { unsentAtLastCheck = unsent }
        }
    }

    private func finishGracefulClose() {
        guard !isClosed else { return }
        closeTimer?.close()
        closeTimer = nil
        onRead = nil
        onWritesFlushed = nil
        let request = UnsafeMutablePointer<uv_shutdown_t>.allocate(capacity: 1)
        request.pointee.data = Unmanaged.passRetained(self).toOpaque()
        let status = uv_shutdown(request, streamHandle) { request, _ in
            guard let request else { return }
            let stream = Unmanaged<TCPStream>.fromOpaque(request.pointee.data!).takeRetainedValue()
            request.deallocate()
            stream.lingerAfterShutdown()
        }
        if status < 0 {
            Unmanaged<TCPStream>.fromOpaque(request.pointee.data!).release()
            request.deallocate()
            close()
        }
    }

    private func lingerAfterShutdown() {
        guard !isClosed else { return }
        if endReported {
            close()
            return
        }
        let timer = Timer(loop: loop)
        closeTimer = timer
        timer.start(after: lingerMilliseconds) { [unowned self] in close() }
        onRead = { _ in }
        onEnd = { [unowned self] _ in close() }
        startReading()
    }
}
