import CLibUV

/// The one error type of the loop layer: a libuv status code with libuv's own name and text,
/// so a failed bind or write says exactly what the kernel said.
public struct UVError: Error, Equatable, CustomStringConvertible, Sendable {
    /// libuv's status: a negative errno (`UV_EADDRINUSE`, ...) or a libuv code such as `UV_EOF`.
    public let code: Int32
    /// What was being done ("bind 0.0.0.0:8080", "connect"), for the message.
    public let operation: String

    /// An error for a negative libuv status `code` from `operation`.
    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// libuv's name for the code, such as "EADDRINUSE".
    public var name: String { String(cString: uv_err_name(code)) }
    /// libuv's text for the code, such as "address already in use".
    public var message: String { String(cString: uv_strerror(code)) }
    /// "operation: NAME (message)", for logs.
    public var description: String { "\(operation): \(name) (\(message))" }

    /// The peer closed its side: an orderly end, not a failure.
    public var isEndOfFile: Bool { code == Int32(UV_EOF.rawValue) }
    /// The request was cancelled because its handle was closed; usually not worth logging.
    public var isCancelled: Bool { code == Int32(UV_ECANCELED.rawValue) }

    /// Throws when a libuv call returned a negative status.
    @discardableResult
    static func check(_ status: Int32, _ operation: @autoclosure () -> String) throws(UVError) -> Int32 {
        if status < 0 { throw UVError(code: status, operation: operation()) }
        return status
    }
}
