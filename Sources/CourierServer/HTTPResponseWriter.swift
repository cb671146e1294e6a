public import CourierHTTP
public import CourierLoop

/// The one way to answer a request, handed to the responder with it. Copyable and `Sendable`:
/// a call from another thread is carried to the connection's loop, and a call for a request
/// that has already been answered (or whose connection has gone) is ignored.
// @unchecked Sendable: the connection it holds is used only on its loop; every method below
// runs there directly or is carried there by the loop's mailbox.
public struct HTTPResponseWriter: @unchecked Sendable {
    let connection: HTTPConnection
    let sequence: Int

    /// The connection's loop: calls made there act at once, calls from elsewhere are carried there.
    public var loop: EventLoop { connection.stream.loop }

    /// Sends a complete response. Content-Length, Date and Connection are added by the server.
    public func respond(_ head: HTTPResponseHead, body: [UInt8] = []) {
        // On the loop (every synchronous handler) no closure is built: it would be a heap
        // allocation per request.
        if connection.stream.loop.inEventLoop { return connection.respond(sequence: sequence, head: head, body: body) }
        onLoop { $0.respond(sequence: sequence, head: head, body: body) }
    }

    /// Starts a streamed response (chunked for HTTP/1.1, close-delimited for HTTP/1.0).
    public func startStreaming(_ head: HTTPResponseHead) {
        onLoop { $0.startStreaming(sequence: sequence, head: head) }
    }

    /// Sends part of a streamed response, after `startStreaming`; an empty chunk sends nothing. Ignored once the response is finished or the connection has gone.
    public func writeChunk(_ bytes: [UInt8]) {
        onLoop { $0.writeChunk(sequence: sequence, bytes: bytes) }
    }

    /// Ends a streamed response (the last chunk, or closing the connection for HTTP/1.0); exactly one of this or `abortStreaming` must follow `startStreaming`.
    public func finishStreaming() {
        onLoop { $0.finishStreaming(sequence: sequence) }
    }

    /// Ends a streamed response that failed part-way: no last chunk, and the connection closes,
    /// so the client cannot take the truncated body for a complete one.
    public func abortStreaming() {
        onLoop { $0.abortStreaming(sequence: sequence) }
    }

    /// Hands the raw connection to another protocol after the server has sent `head`
    /// (101 Switching Protocols). `takeOver` runs on the loop with the stream and any bytes the
    /// client sent after the request; from then on the HTTP server no longer touches it.
    package func upgrade(_ head: HTTPResponseHead,
                        takeOver: @escaping @Sendable (UpgradedStream) -> Void) {
        onLoop { $0.upgrade(sequence: sequence, head: head, takeOver: takeOver) }
    }

    private func onLoop(_ work: @escaping (HTTPConnection) -> Void) {
        let connection = connection
        if connection.stream.loop.inEventLoop {
            work(connection)
        } else {
            let box = UncheckedBox((connection, work))
            connection.stream.loop.execute { box.value.1(box.value.0) }
        }
    }
}

/// A connection that has left HTTP: the stream, the bytes already read past the request, and
/// the loop's bookkeeping that graceful shutdown uses. Package-only: apps get a `WebSocket`.
// @unchecked Sendable: made on the connection's loop and handed, in the same call, to a
// `takeOver` that runs on that loop; nothing in it is touched from another thread.
package struct UpgradedStream: @unchecked Sendable {
    package let stream: TCPStream
    package let leftover: [UInt8]
    package let serverLoop: ServerLoop
}

/// Carries a loop-bound value across a hop to that same loop.
// @unchecked Sendable: the value is made on one thread and used only on the loop it is sent
// to, never on both at once.
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
